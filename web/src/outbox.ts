// The delivery state of the notification outbox, shared by the navigation
// (a badge when messages fail) and the Settings page.
import { useEffect, useState } from 'react';
import { get, Notifications } from './api';

type Listener = (n: Notifications | null) => void;
const listeners = new Set<Listener>();
let last: Notifications | null = null;
let inflight: Promise<void> | null = null;

export function lastNotifications() { return last; }

/** Fetch /api/notifications again and tell every listener (errors keep the last state). */
export function refreshOutbox(): Promise<void> {
  if (inflight) return inflight;
  inflight = get<Notifications>('/api/notifications')
    .then((n) => { last = n; listeners.forEach((l) => l(n)); })
    .catch(() => { /* not available (older server, or no permission): no badge */ })
    .finally(() => { inflight = null; });
  return inflight;
}

export function onOutbox(l: Listener): () => void {
  listeners.add(l);
  return () => { listeners.delete(l); };
}

/** Messages that did not go out: pending ones that failed at least once, and dead ones. */
export const problems = (n: Notifications | null) => (n ? (n.outbox_counts.failing ?? 0) + (n.outbox_counts.dead ?? 0) : 0);

/** The last /api/notifications answer (fetched if there is none yet), kept current. */
export function useNotifications(): Notifications | null {
  const [n, setN] = useState<Notifications | null>(last);
  useEffect(() => {
    const off = onOutbox(setN);
    if (!last) refreshOutbox();
    return off;
  }, []);
  return n;
}
