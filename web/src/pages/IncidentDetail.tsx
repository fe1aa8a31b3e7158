import { FormEvent, useEffect, useState } from 'react';
import { api, ApiError, Block, IncidentDetail, IncidentStatus } from '../api';
import { useAuth, useCan } from '../auth';
import { Link } from '../router';
import { subscribe } from '../stream';
import { Card, num, Sev, State, Status, Time, useLoad } from '../util';

const ORDER: IncidentStatus[] = ['new', 'triaged', 'investigating', 'contained', 'resolved', 'closed'];
const canMove = (from: IncidentStatus, to: IncidentStatus) => {
  const open = from !== 'resolved' && from !== 'closed';
  return open ? ORDER.indexOf(to) > ORDER.indexOf(from) : to === 'investigating' || (from === 'resolved' && to === 'closed');
};
const ACTIONS: [IncidentStatus, string][] = [['investigating', 'Investigate'], ['contained', 'Contain'], ['resolved', 'Resolve'], ['closed', 'Close']];

export function IncidentPage({ id }: { id: string }) {
  const inc = useLoad(() => api<IncidentDetail>('GET', `/api/incidents/${encodeURIComponent(id)}`), [id]);
  const canEdit = useCan('analyst');
  const { user } = useAuth();
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [note, setNote] = useState('');
  const [assignee, setAssignee] = useState('');
  const [duration, setDuration] = useState('24h');
  useEffect(() => subscribe('incident', (d) => { if ((d as { incident_id: number }).incident_id === Number(id)) inc.reload(); }), [id]);
  useEffect(() => { setAssignee(inc.data?.assignee ?? ''); }, [inc.data?.assignee]);

  const change = async (body: object, done: string) => {
    setBusy(true); setMsg(null);
    try {
      inc.setData(await api<IncidentDetail>('PATCH', `/api/incidents/${id}`, body));
      setMsg({ ok: true, text: done });
      return true;
    } catch (e) { setMsg({ ok: false, text: (e as ApiError).message }); return false; } finally { setBusy(false); }
  };
  const block = async () => {
    setBusy(true); setMsg(null);
    try {
      const b = await api<Block>('POST', `/api/incidents/${id}/block`, { duration: duration || undefined });
      setMsg({ ok: true, text: `Blocked ${b.net}${b.expires_ms ? ` until ${new Date(b.expires_ms).toLocaleString()}` : ''}` });
      inc.reload();
    } catch (e) { setMsg({ ok: false, text: (e as ApiError).message }); } finally { setBusy(false); }
  };

  const d = inc.data;
  return (
    <div className="page">
      <p><Link to="/incidents">← Incidents</Link></p>
      <State loading={inc.loading} error={inc.error} empty={!d}>
        {d && (
          <>
            <div className="page-head">
              <h1><span className="muted">#{d.id}</span> {d.title}</h1>
              <div className="head-badges"><Sev s={d.severity} /> <Status s={d.status} /> {d.verdict && <span className="badge">{d.verdict.replace('_', ' ')}</span>}</div>
            </div>
            {msg && <div className={`state ${msg.ok ? 'ok' : 'error'}`} role={msg.ok ? 'status' : 'alert'}>{msg.text}</div>}
            {canEdit && (
              <div className="toolbar" role="toolbar" aria-label="Workflow">
                {d.status === 'new' && <>
                  <button className="btn" disabled={busy} onClick={() => change({ verdict: 'true_positive' }, 'Triaged as true positive')}>Triage: true positive</button>
                  <button className="btn" disabled={busy} onClick={() => change({ verdict: 'false_positive' }, 'Triaged as false positive')}>Triage: false positive</button>
                </>}
                {ACTIONS.filter(([to]) => canMove(d.status, to)).map(([to, label]) => (
                  <button key={to} className={`btn ${to === 'resolved' ? 'primary' : ''}`} disabled={busy} onClick={() => change({ status: to }, `Moved to ${to}`)}>{d.status === 'resolved' || d.status === 'closed' ? (to === 'investigating' ? 'Re-open' : label) : label}</button>
                ))}
                {d.source_ip && <span className="block-group">
                  <select aria-label="Block duration" value={duration} onChange={(e) => setDuration(e.target.value)}>
                    <option value="1h">1 hour</option><option value="24h">24 hours</option><option value="7d">7 days</option><option value="">until lifted</option>
                  </select>
                  <button className="btn danger" disabled={busy} onClick={block}>Block {d.source_ip}</button>
                </span>}
              </div>
            )}
            <div className="grid">
              <Card title="Summary">
                <dl className="dl">
                  <dt>Rule</dt><dd><code>{d.rule_id}</code></dd>
                  <dt>Category</dt><dd>{d.category}</dd>
                  <dt>Source IP</dt><dd>{d.source_ip ? <Link to={`/ips/${encodeURIComponent(d.source_ip)}`}>{d.source_ip}</Link> : '—'}</dd>
                  {d.user && <><dt>User</dt><dd>{d.user}</dd></>}
                  <dt>Events</dt><dd>{num(d.count)}</dd>
                  <dt>First seen</dt><dd><Time ms={d.first_seen_ms} /></dd>
                  <dt>Last seen</dt><dd><Time ms={d.last_seen_ms} /></dd>
                  <dt>Assignee</dt><dd>{canEdit ? (
                    <form className="inline-form" onSubmit={(e: FormEvent) => { e.preventDefault(); change({ assignee }, assignee ? `Assigned to ${assignee}` : 'Unassigned'); }}>
                      <input aria-label="Assignee" value={assignee} onChange={(e) => setAssignee(e.target.value)} placeholder="nobody" maxLength={64} />
                      <button className="btn small" disabled={busy}>Assign</button>
                      {user && !d.assignee && <button type="button" className="btn small ghost" disabled={busy} onClick={() => change({ assignee: user.name }, `Assigned to ${user.name}`)}>Take it</button>}
                    </form>) : (d.assignee ?? '—')}</dd>
                </dl>
                {d.description && <p className="desc">{d.description}</p>}
                {d.recommendation && <p className="rec"><strong>Recommendation: </strong>{d.recommendation}</p>}
              </Card>
              <Card title="Response steps">
                {d.checklist.length === 0 ? <div className="state empty">No checklist for this rule.</div> : (
                  <ul className="checklist">
                    {d.checklist.map((c, i) => (
                      <li key={i}><label className="check">
                        <input type="checkbox" checked={c.done} disabled={!canEdit || busy} onChange={(e) => change({ checklist: { index: i, done: e.target.checked } }, e.target.checked ? 'Step done' : 'Step re-opened')} />
                        <span className={c.done ? 'done' : ''}>{c.step}</span></label>
                        {c.done && c.done_by && <span className="muted small"> — {c.done_by}, <Time ms={c.done_ms} /></span>}
                      </li>
                    ))}
                  </ul>
                )}
              </Card>
              <Card title="Evidence" className="span2">
                {d.alerts.length === 0 ? <div className="state empty">No alerts recorded.</div> : d.alerts.map((a) => (
                  <div key={a.id} className="alert-block">
                    <div className="alert-head"><Sev s={a.severity} /> <strong>{a.title}</strong> <span className="muted">· {a.source} · {num(a.count)} events · <Time ms={a.first_seen_ms} /> → <Time ms={a.last_seen_ms} /></span></div>
                    <ol className="evidence">
                      {a.evidence.map((e, i) => <li key={i}><span className="muted small">{e.file}:{e.line}</span><pre className="raw">{e.raw}</pre></li>)}
                    </ol>
                  </div>
                ))}
              </Card>
              <Card title="Notes">
                {d.notes.length === 0 && <div className="state empty">No notes yet.</div>}
                <ul className="notes">{d.notes.map((n) => <li key={n.id}><div className="muted small">{n.author} · <Time ms={n.created_ms} /></div><div className="note-text">{n.text}</div></li>)}</ul>
                {canEdit && (
                  <form className="note-form" onSubmit={async (e) => { e.preventDefault(); if (note.trim() && (await change({ note }, 'Note added'))) setNote(''); }}>
                    <label className="sr" htmlFor="note">Add a note</label>
                    <textarea id="note" value={note} onChange={(e) => setNote(e.target.value)} rows={3} placeholder="Add a note…" maxLength={10000} />
                    <button className="btn" disabled={busy || !note.trim()}>Add note</button>
                  </form>
                )}
              </Card>
              <Card title="Activity">
                <ol className="timeline">
                  {d.activity.map((a) => <li key={a.id}><Time ms={a.at_ms} /> <strong>{a.actor}</strong> {a.action}{a.detail ? `: ${a.detail}` : ''}</li>)}
                </ol>
                {d.source_ip && <p><Link to={`/ips/${encodeURIComponent(d.source_ip)}`}>Everything {d.source_ip} did →</Link></p>}
              </Card>
            </div>
          </>
        )}
      </State>
    </div>
  );
}
