import { FormEvent, useState } from 'react';
import { api, ApiError, ApiToken, Role, User } from '../api';
import { useAuth } from '../auth';
import { Card, State, Time, useLoad } from '../util';

export function Admin() {
  const users = useLoad(() => api<User[]>('GET', '/api/users'), []);
  const tokens = useLoad(() => api<ApiToken[]>('GET', '/api/tokens'), []);
  const { user: me } = useAuth();
  const [nu, setNu] = useState({ name: '', role: 'viewer' as Role, password: '' });
  const [nt, setNt] = useState({ name: '', expires_days: '90' });
  const [secret, setSecret] = useState<string | null>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const act = async (f: () => Promise<unknown>, ok: string) => {
    setMsg(null);
    try { const r = await f(); setMsg({ ok: true, text: ok }); users.reload(); tokens.reload(); return r ?? true; } catch (e) { setMsg({ ok: false, text: (e as ApiError).message }); return null; }
  };
  const addUser = async (e: FormEvent) => { e.preventDefault(); if (await act(() => api('POST', '/api/users', nu), `Created ${nu.name}`)) setNu({ name: '', role: 'viewer', password: '' }); };
  const addToken = async (e: FormEvent) => {
    e.preventDefault(); setSecret(null);
    const r = await act(() => api<{ token?: string; secret?: string }>('POST', '/api/tokens', { name: nt.name, expires_days: nt.expires_days ? Number(nt.expires_days) : undefined }), `Created token ${nt.name}`) as { token?: string; secret?: string } | null;
    if (r) { setSecret(r.token ?? r.secret ?? JSON.stringify(r)); setNt({ name: '', expires_days: '90' }); }
  };
  return (
    <div className="page">
      <div className="page-head"><h1>Admin</h1></div>
      {msg && <div className={`state ${msg.ok ? 'ok' : 'error'}`} role={msg.ok ? 'status' : 'alert'}>{msg.text}</div>}
      <Card title="Users">
        <State loading={users.loading} error={users.error} empty={!users.data?.length}>
          <div className="table-wrap"><table className="table" data-testid="users-table">
            <thead><tr><th>Name</th><th>Role</th><th>State</th><th>Created</th><th><span className="sr">Actions</span></th></tr></thead>
            <tbody>{users.data?.map((u) => (
              <tr key={u.id}>
                <td>{u.name}</td>
                <td>{u.id === me?.id ? <span className={`badge role-${u.role}`}>{u.role}</span> : (
                  <select aria-label={`Role of ${u.name}`} value={u.role} onChange={(e) => act(() => api('PATCH', `/api/users/${u.id}`, { role: e.target.value }), `${u.name} is now ${e.target.value}`)}>
                    <option>viewer</option><option>analyst</option><option>admin</option></select>)}</td>
                <td>{u.disabled ? 'disabled' : 'active'}</td>
                <td><Time ms={u.created_ms} /></td>
                <td>{u.id !== me?.id && <>
                  <button className="btn small" onClick={() => act(() => api('PATCH', `/api/users/${u.id}`, { disabled: !u.disabled }), `${u.name} ${u.disabled ? 'enabled' : 'disabled'}`)}>{u.disabled ? 'Enable' : 'Disable'}</button>{' '}
                  <button className="btn small danger" onClick={() => confirmDelete(u.name) && act(() => api('DELETE', `/api/users/${u.id}`), `Deleted ${u.name}`)}>Delete</button></>}</td>
              </tr>))}</tbody>
          </table></div>
        </State>
        <form className="filters" onSubmit={addUser} aria-label="Create a user">
          <label>Name<input value={nu.name} onChange={(e) => setNu({ ...nu, name: e.target.value })} required autoComplete="off" /></label>
          <label>Role<select value={nu.role} onChange={(e) => setNu({ ...nu, role: e.target.value as Role })}><option>viewer</option><option>analyst</option><option>admin</option></select></label>
          <label>Password<input type="password" value={nu.password} onChange={(e) => setNu({ ...nu, password: e.target.value })} required autoComplete="new-password" minLength={8} /></label>
          <button className="btn">Create user</button>
        </form>
      </Card>
      <Card title="API tokens">
        {secret && <div className="state ok secret" role="status">Copy this token now — it is shown only once: <code className="select-all" data-testid="token-secret">{secret}</code></div>}
        <State loading={tokens.loading} error={tokens.error} empty={!tokens.data?.length} emptyText="No API tokens.">
          <div className="table-wrap"><table className="table">
            <thead><tr><th>Name</th><th>User</th><th>Prefix</th><th>Created</th><th>Expires</th><th>Last used</th><th>State</th><th><span className="sr">Actions</span></th></tr></thead>
            <tbody>{tokens.data?.map((t) => (
              <tr key={t.id}><td>{t.name}</td><td>{t.user_name}</td><td><code>{t.prefix}…</code></td><td><Time ms={t.created_ms} /></td><td><Time ms={t.expires_ms} /></td><td><Time ms={t.last_used_ms} /></td>
                <td>{t.revoked ? 'revoked' : 'active'}</td>
                <td>{!t.revoked && <button className="btn small danger" onClick={() => act(() => api('DELETE', `/api/tokens/${t.id}`), `Revoked ${t.name}`)}>Revoke</button>}</td></tr>))}</tbody>
          </table></div>
        </State>
        <form className="filters" onSubmit={addToken} aria-label="Create an API token">
          <label>Name<input value={nt.name} onChange={(e) => setNt({ ...nt, name: e.target.value })} required /></label>
          <label>Expires in (days)<input type="number" min={1} value={nt.expires_days} onChange={(e) => setNt({ ...nt, expires_days: e.target.value })} /></label>
          <button className="btn">Create token</button>
        </form>
      </Card>
    </div>
  );
}

function confirmDelete(name: string): boolean {
  return window.confirm(`Delete user ${name}? Their sessions and tokens go too.`);
}
