// One EventSource per tab, shared by every page.
export type StreamType = 'events' | 'incident' | 'block' | 'unblock' | 'lagged';
type Handler = (data: unknown) => void;

const handlers = new Map<StreamType, Set<Handler>>();
let es: EventSource | null = null;
let statusListeners = new Set<(s: string) => void>();
export let streamStatus = 'connecting';

function setStatus(s: string) { streamStatus = s; statusListeners.forEach((l) => l(s)); }

export function openStream() {
  if (es) return;
  es = new EventSource('/api/stream');
  es.onopen = () => setStatus('live');
  es.onerror = () => setStatus(es && es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  for (const t of ['events', 'incident', 'block', 'unblock', 'lagged'] as StreamType[]) {
    es.addEventListener(t, (ev) => {
      let data: unknown = null;
      try { data = JSON.parse((ev as MessageEvent).data); } catch { data = (ev as MessageEvent).data; }
      // The server wraps messages as {type, data}.
      const payload = data && typeof data === 'object' && 'data' in data ? (data as { data: unknown }).data : data;
      handlers.get(t)?.forEach((h) => h(payload));
    });
  }
}
export function closeStream() { es?.close(); es = null; setStatus('closed'); }

export function subscribe(t: StreamType, h: Handler): () => void {
  if (!handlers.has(t)) handlers.set(t, new Set());
  handlers.get(t)!.add(h);
  return () => { handlers.get(t)?.delete(h); };
}
export function onStatus(l: (s: string) => void): () => void {
  statusListeners.add(l);
  return () => { statusListeners.delete(l); };
}
export function resetStatusListeners() { statusListeners = new Set(); }
