import { createContext, useContext } from 'react';
import { Role, User, roleAtLeast } from './api';

export const AuthContext = createContext<{ user: User | null; logout: () => void }>({ user: null, logout: () => {} });
export const useAuth = () => useContext(AuthContext);
/** Whether the signed-in user may do what needs `min`. Buttons a user cannot use are not rendered. */
export function useCan(min: Role): boolean {
  return roleAtLeast(useAuth().user?.role, min);
}
