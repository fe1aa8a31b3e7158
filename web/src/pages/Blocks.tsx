import { FormEvent, useEffect, useState } from 'react';
import { AllowEntry, api, ApiError, Block, get } from '../api';
import { useCan } from '../auth';
import { Link } from '../router';
import { subscribe } from '../stream';
import { Card, State, Time, useLoad } from '../util';

export function Blocks() {
  const blocks = useLoad(() => get<Block[]>('/api/blocks'), []);
  const allow = useLoad(() => get<{ configured: string[]; entries: AllowEntry[] }>('/api/allowlist'), []);
  const canBlock = useCan('analyst');
  const isAdmin = useCan('admin');
  const [form, setForm] = useState({ ip: '', reason: '', duration: '24h', until: '' });
  const [allowForm, setAllowForm] = useState({ ip: '', note: '' });
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => { const r = () => blocks.reload(); const a = subscribe('block', r), b = subscribe('unblock', r); return () => { a(); b(); }; }, []);

  const act = async (f: () => Promise<unknown>, ok: string) => {
    setMsg(null);
    try { await f(); setMsg({ ok: true, text: ok }); blocks.reload(); allow.reload(); return true; } catch (e) { setMsg({ ok: false, text: (e as ApiError).message }); return false; }
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body: Record<string, unknown> = { ip: form.ip.trim(), reason: form.reason };
    if (form.duration === 'custom') { if (form.until) body.expires_ms = new Date(form.until).getTime(); } else if (form.duration) body.duration = form.duration;
    if (await act(() => api('POST', '/api/blocks', body), `Blocked ${form.ip.trim()}`)) setForm({ ...form, ip: '', reason: '' });
  };
  const unblock = (b: Block) => act(() => api('DELETE', `/api/blocks/${encodeURIComponent(b.net.replace('/', '_'))}`), `Unblocked ${b.net}`);

  return (
    <div className="page">
      <div className="page-head"><h1>Blocked IPs</h1></div>
      {msg && <div className={`state ${msg.ok ? 'ok' : 'error'}`} role={msg.ok ? 'status' : 'alert'}>{msg.text}</div>}
      {canBlock && (
        <Card title="Block an IP or network">
          <form className="filters" onSubmit={submit} aria-label="Block an IP">
            <label>IP or CIDR<input name="block-ip" value={form.ip} onChange={(e) => setForm({ ...form, ip: e.target.value })} required placeholder="203.0.113.7 or 198.51.100.0/24" /></label>
            <label className="grow">Reason<input name="block-reason" value={form.reason} onChange={(e) => setForm({ ...form, reason: e.target.value })} placeholder="why" maxLength={500} /></label>
            <label>Expires<select name="block-duration" value={form.duration} onChange={(e) => setForm({ ...form, duration: e.target.value })}>
              <option value="1h">in 1 hour</option><option value="24h">in 24 hours</option><option value="7d">in 7 days</option><option value="30d">in 30 days</option><option value="">never (until lifted)</option><option value="custom">at…</option></select></label>
            {form.duration === 'custom' && <label>At<input type="datetime-local" value={form.until} onChange={(e) => setForm({ ...form, until: e.target.value })} required /></label>}
            <button className="btn danger">Block</button>
          </form>
        </Card>
      )}
      <Card title="Active blocks">
        <State loading={blocks.loading} error={blocks.error} empty={!blocks.data?.length} emptyText="No IP is blocked.">
          <div className="table-wrap">
            <table className="table" data-testid="blocks-table">
              <thead><tr><th>Network</th><th>Reason</th><th>By</th><th>Since</th><th>Expires</th><th>Incident</th>{canBlock && <th><span className="sr">Actions</span></th>}</tr></thead>
              <tbody>{blocks.data?.map((b) => (
                <tr key={b.id}>
                  <td><Link to={`/ips/${encodeURIComponent(b.net.replace(/\/(32|128)$/, ''))}`}>{b.net}</Link></td>
                  <td className="clip wide" title={b.reason}>{b.reason}</td>
                  <td>{b.created_by}</td>
                  <td><Time ms={b.created_ms} /></td>
                  <td>{b.expires_ms ? <Time ms={b.expires_ms} /> : <span className="muted">never</span>}</td>
                  <td>{b.incident_id ? <Link to={`/incidents/${b.incident_id}`}>#{b.incident_id}</Link> : ''}</td>
                  {canBlock && <td><button className="btn small" onClick={() => unblock(b)} aria-label={`Unblock ${b.net}`}>Unblock</button></td>}
                </tr>))}</tbody>
            </table>
          </div>
        </State>
      </Card>
      <Card title="Allowlist (never blocked)">
        <State loading={allow.loading} error={allow.error} empty={!allow.data}>
          <ul className="plain">
            {allow.data?.configured.map((n) => <li key={`c${n}`}><code>{n}</code> <span className="muted">from the configuration</span></li>)}
            {allow.data?.entries.map((a) => (
              <li key={a.id}><code>{a.net}</code> {a.note} <span className="muted">by {a.created_by}, <Time ms={a.created_ms} /></span>
                {isAdmin && <button className="btn small ghost" onClick={() => act(() => api('DELETE', `/api/allowlist/${a.id}`), `Removed ${a.net} from the allowlist`)}>Remove</button>}</li>))}
          </ul>
          {isAdmin && (
            <form className="filters" aria-label="Allowlist a network" onSubmit={async (e) => { e.preventDefault(); if (await act(() => api('POST', '/api/allowlist', allowForm), `Allowlisted ${allowForm.ip}`)) setAllowForm({ ip: '', note: '' }); }}>
              <label>IP or CIDR<input value={allowForm.ip} onChange={(e) => setAllowForm({ ...allowForm, ip: e.target.value })} required /></label>
              <label className="grow">Note<input value={allowForm.note} onChange={(e) => setAllowForm({ ...allowForm, note: e.target.value })} /></label>
              <button className="btn">Add to allowlist</button>
            </form>
          )}
        </State>
      </Card>
    </div>
  );
}
