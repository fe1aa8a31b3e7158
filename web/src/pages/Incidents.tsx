import { useEffect, useState } from 'react';
import { get, Incident, Page, qs, SEVERITIES, STATUSES } from '../api';
import { Link, navigate, useLocation } from '../router';
import { subscribe } from '../stream';
import { num, Sev, State, Status, Time, useLoad, Pager } from '../util';

const FILTERS = ['status', 'open', 'min_severity', 'category', 'ip', 'user', 'assignee', 'sort'] as const;

export function Incidents() {
  const { search } = useLocation();
  const sp = new URLSearchParams(search);
  const f = Object.fromEntries(FILTERS.map((k) => [k, sp.get(k) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  // Server-side pagination: a stack of cursors for "previous".
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1] ?? '';
  const [fresh, setFresh] = useState(0);
  const list = useLoad(() => get<Page<Incident>>(`/api/incidents${qs({ ...f, cursor, limit: 25 })}`), [search, cursor]);
  useEffect(() => setCursors([]), [search]);
  useEffect(() => subscribe('incident', () => setFresh((n) => n + 1)), []);

  const set = (k: string, v: string) => {
    const n = new URLSearchParams(search);
    if (v) n.set(k, v); else n.delete(k);
    const s = n.toString();
    navigate(`/incidents${s ? `?${s}` : ''}`, true);
  };

  return (
    <div className="page">
      <div className="page-head"><h1>Incidents</h1>
        {fresh > 0 && <button className="btn" onClick={() => { setFresh(0); setCursors([]); list.reload(); }}>{fresh} update{fresh > 1 ? 's' : ''} — refresh</button>}
      </div>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <label>Status<select value={f.status} onChange={(e) => set('status', e.target.value)}><option value="">any</option>{STATUSES.map((s) => <option key={s}>{s}</option>)}</select></label>
        <label className="check"><input type="checkbox" checked={f.open === 'true'} onChange={(e) => set('open', e.target.checked ? 'true' : '')} />open only</label>
        <label>Min severity<select value={f.min_severity} onChange={(e) => set('min_severity', e.target.value)}><option value="">any</option>{SEVERITIES.map((s) => <option key={s}>{s}</option>)}</select></label>
        <TextFilter label="Category" value={f.category} onChange={(v) => set('category', v)} placeholder="sqli, xss, brute_force…" />
        <TextFilter label="IP" value={f.ip} onChange={(v) => set('ip', v)} />
        <TextFilter label="User" value={f.user} onChange={(v) => set('user', v)} />
        <TextFilter label="Assignee" value={f.assignee} onChange={(v) => set('assignee', v)} />
        <label>Sort by<select value={f.sort} onChange={(e) => set('sort', e.target.value)}>
          <option value="">last seen</option><option value="first_seen">first seen</option><option value="severity">severity</option><option value="count">count</option></select></label>
      </form>
      <State loading={list.loading} error={list.error} empty={!list.data?.items.length} emptyText="No incidents match these filters.">
        <div className="table-wrap">
          <table className="table" data-testid="incidents-table">
            <thead><tr><th>#</th><th>Severity</th><th>Title</th><th>Category</th><th>Source</th><th>Status</th><th>Assignee</th><th className="num">Count</th><th>Last seen</th></tr></thead>
            <tbody>
              {list.data?.items.map((i) => (
                <tr key={i.id}>
                  <td><Link to={`/incidents/${i.id}`}>#{i.id}</Link></td>
                  <td><Sev s={i.severity} /></td>
                  <td><Link to={`/incidents/${i.id}`}>{i.title}</Link></td>
                  <td>{i.category}</td>
                  <td>{i.source_ip ? <Link to={`/ips/${encodeURIComponent(i.source_ip)}`}>{i.source_ip}</Link> : null}{i.user ? <div className="muted">user: {i.user}</div> : null}</td>
                  <td><Status s={i.status} />{i.verdict && <div className="muted small">{i.verdict.replace('_', ' ')}</div>}</td>
                  <td>{i.assignee ?? <span className="muted">—</span>}</td>
                  <td className="num">{num(i.count)}</td>
                  <td><Time ms={i.last_seen_ms} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </State>
      <Pager cursors={cursors} setCursors={setCursors} next={list.data?.next_cursor} />
    </div>
  );
}

/** A text filter applied on Enter or blur (not on every key stroke). */
export function TextFilter({ label, value, onChange, placeholder }: { label: string; value: string; onChange: (v: string) => void; placeholder?: string }) {
  const [v, setV] = useState(value);
  useEffect(() => setV(value), [value]);
  return (
    <label>{label}<input type="search" value={v} placeholder={placeholder} onChange={(e) => setV(e.target.value)}
      onBlur={() => v !== value && onChange(v.trim())} onKeyDown={(e) => { if (e.key === 'Enter') { e.preventDefault(); onChange(v.trim()); } }} /></label>
  );
}
