import { FormEvent, useState } from 'react';
import { api, ApiError, Me } from '../api';

export function Login({ onLogin }: { onLogin: (me: Me) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      onLogin(await api<Me>('POST', '/api/auth/login', { username, password }));
    } catch (err) {
      setError((err as ApiError).message);
    } finally { setBusy(false); }
  };
  return (
    <div className="login-wrap">
      <form className="login card" onSubmit={submit} aria-labelledby="login-title">
        <div className="brand big">secmo</div>
        <h1 id="login-title">Sign in</h1>
        <label>User name<input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus /></label>
        <label>Password<input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required /></label>
        {error && <div className="state error" role="alert">{error}</div>}
        <button className="btn primary" type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </div>
  );
}
