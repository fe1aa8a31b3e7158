import { useEffect, useRef, useState } from 'react';
import { EventRecord, get, Page, qs } from '../api';
import { Link, navigate, useLocation } from '../router';
import { subscribe } from '../stream';
import { State, Time, useLoad, Pager } from '../util';
import { TextFilter } from './Incidents';

const KEYS = ['source', 'ip', 'user', 'status', 'category', 'text', 'flagged'] as const;
type Filters = Record<(typeof KEYS)[number], string>;

function matches(e: EventRecord, f: Filters): boolean {
  if (f.source && e.source !== f.source) return false;
  if (f.ip && e.source_ip !== f.ip) return false;
  if (f.user && e.user !== f.user) return false;
  if (f.status && String(e.status ?? '') !== f.status) return false;
  if (f.category && !e.categories.includes(f.category)) return false;
  if (f.flagged && !e.rules.length) return false;
  if (f.text && !e.raw.toLowerCase().includes(f.text.toLowerCase())) return false;
  return true;
}

export function EventRow({ e }: { e: EventRecord }) {
  const req = [e.method, e.path + (e.query ? `?${e.query}` : '')].filter(Boolean).join(' ');
  return (
    <tr className={e.rules.length ? 'flagged' : ''}>
      <td className="nowrap"><Time ms={e.ts_ms} /></td>
      <td>{e.source}</td>
      <td className="nowrap">{e.source_ip ? <Link to={`/ips/${encodeURIComponent(e.source_ip)}`}>{e.source_ip}</Link> : null}{e.blocked && <span className="badge st-contained" title="blocked when it arrived">blocked</span>}</td>
      <td className="clip" title={e.user}>{e.user}</td>
      <td className="clip wide" title={req || e.raw}>{req || <span className="raw-inline">{e.raw}</span>}</td>
      <td className={`num status-${String(e.status ?? '').charAt(0)}`}>{e.status ?? ''}</td>
      <td className="clip" title={e.referrer}>{e.referrer}</td>
      <td className="clip" title={e.user_agent}>{e.user_agent}</td>
      <td>{e.categories.length ? Array.from(new Set(e.categories)).map((c) => <span key={c} className="badge cat">{c}</span>) : null}</td>
    </tr>
  );
}

export function EventTable({ items, testid }: { items: EventRecord[]; testid?: string }) {
  return (
    <div className="table-wrap">
      <table className="table events" data-testid={testid}>
        <thead><tr><th>Time</th><th>Source</th><th>IP</th><th>User</th><th>Request / line</th><th className="num">Status</th><th>Referrer</th><th>User agent</th><th>Detections</th></tr></thead>
        <tbody>{items.map((e) => <EventRow key={e.id} e={e} />)}</tbody>
      </table>
    </div>
  );
}

export function LiveEvents() {
  const { search } = useLocation();
  const sp = new URLSearchParams(search);
  const f = Object.fromEntries(KEYS.map((k) => [k, sp.get(k) ?? ''])) as Filters;
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1] ?? '';
  const [paused, setPaused] = useState(false);
  const [live, setLive] = useState<EventRecord[]>([]);
  const [buffered, setBuffered] = useState(0);
  const page = useLoad(() => get<Page<EventRecord>>(`/api/events${qs({ ...f, cursor, limit: 100 })}`), [search, cursor]);
  useEffect(() => { setCursors([]); setLive([]); }, [search]);
  useEffect(() => { setLive([]); }, [cursor]);

  const state = useRef({ paused, f, cursor, queue: [] as EventRecord[] });
  state.current.paused = paused; state.current.f = f; state.current.cursor = cursor;
  useEffect(() => subscribe('events', (d) => {
    const s = state.current;
    if (s.cursor) return; // browsing older pages
    const batch = (d as EventRecord[]).filter((e) => matches(e, s.f)).sort((a, b) => b.id - a.id);
    if (!batch.length) return;
    if (s.paused) { s.queue = [...batch, ...s.queue].slice(0, 500); setBuffered(s.queue.length); return; }
    setLive((l) => [...batch, ...l].slice(0, 300));
  }), []);
  const resume = () => {
    const q = state.current.queue; state.current.queue = []; setBuffered(0);
    // The stream is a sample: refetch the newest page so nothing is missed.
    setLive((l) => [...q, ...l].slice(0, 300)); setPaused(false); page.reload();
  };

  const set = (k: string, v: string) => {
    const n = new URLSearchParams(search);
    if (v) n.set(k, v); else n.delete(k);
    const s = n.toString();
    navigate(`/events${s ? `?${s}` : ''}`, true);
  };
  const seen = new Set(live.map((e) => e.id));
  const rows = [...live, ...(page.data?.items ?? []).filter((e) => !seen.has(e.id))];

  return (
    <div className="page">
      <div className="page-head"><h1>Live events</h1>
        <div className="toolbar">
          {cursor ? <span className="muted">viewing older events</span> : paused
            ? <button className="btn primary" onClick={resume}>▶ Resume{buffered ? ` (${buffered} new)` : ''}</button>
            : <button className="btn" onClick={() => setPaused(true)}>⏸ Pause</button>}
        </div>
      </div>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <TextFilter label="Source" value={f.source} onChange={(v) => set('source', v)} />
        <TextFilter label="IP" value={f.ip} onChange={(v) => set('ip', v)} />
        <TextFilter label="User" value={f.user} onChange={(v) => set('user', v)} />
        <TextFilter label="Status" value={f.status} onChange={(v) => set('status', v)} placeholder="404" />
        <TextFilter label="Category" value={f.category} onChange={(v) => set('category', v)} placeholder="xss" />
        <TextFilter label="Text" value={f.text} onChange={(v) => set('text', v)} placeholder="contains…" />
        <label className="check"><input type="checkbox" checked={f.flagged === 'true'} onChange={(e) => set('flagged', e.target.checked ? 'true' : '')} />flagged only</label>
      </form>
      <State loading={page.loading} error={page.error} empty={!rows.length} emptyText="No events match these filters.">
        <EventTable items={rows} testid="events-table" />
      </State>
      <Pager cursors={cursors} setCursors={setCursors} next={page.data?.next_cursor} />
    </div>
  );
}
