import { ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api';

const fmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** A time in the browser's zone; UTC on hover. */
export function Time({ ms }: { ms: number | null | undefined }) {
  if (ms === null || ms === undefined) return <span className="muted">—</span>;
  const d = new Date(ms);
  return <time dateTime={d.toISOString()} title={d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}>{fmt.format(d)}</time>;
}

export function ago(ms: number): string {
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export const num = (n: number) => n.toLocaleString();

export function Sev({ s }: { s: string }) {
  return <span className={`badge sev-${s}`}>{s}</span>;
}
export function Status({ s }: { s: string }) {
  return <span className={`badge st-${s}`}>{s.replace('_', ' ')}</span>;
}

/** Load data; `reload` refetches. Keeps the previous data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const reload = useCallback(() => {
    const n = ++seq.current;
    setLoading(true);
    load().then(
      (d) => { if (n === seq.current) { setData(d); setError(null); setLoading(false); } },
      (e: ApiError) => { if (n === seq.current) { setError(e.message); setLoading(false); } },
    );
  }, deps);
  useEffect(() => { reload(); }, [reload]);
  return { data, error, loading, reload, setData };
}

/** Loading / error / empty wrapper. */
export function State({ loading, error, empty, children, emptyText = 'Nothing here yet.' }: {
  loading: boolean; error: string | null; empty?: boolean; children?: ReactNode; emptyText?: string;
}) {
  if (error) return <div className="state error" role="alert">Error: {error}</div>;
  if (loading && empty) return <div className="state loading" aria-busy="true">Loading…</div>;
  if (empty) return <div className="state empty">{emptyText}</div>;
  return <>{children}</>;
}

export function Card({ title, children, actions, className }: { title?: ReactNode; children: ReactNode; actions?: ReactNode; className?: string }) {
  return (
    <section className={`card ${className ?? ''}`}>
      {(title || actions) && <header className="card-head"><h2>{title}</h2>{actions}</header>}
      {children}
    </section>
  );
}

/** Newer/older buttons over keyset pages: `cursors` is the stack of cursors that led to this page. */
export function Pager({ cursors, setCursors, next }: { cursors: string[]; setCursors: (c: string[]) => void; next: string | null | undefined }) {
  return (
    <div className="pager">
      <button className="btn" disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>← Newer</button>
      <span className="muted">page {cursors.length + 1}</span>
      <button className="btn" disabled={!next} onClick={() => next && setCursors([...cursors, next])}>Older →</button>
    </div>
  );
}
