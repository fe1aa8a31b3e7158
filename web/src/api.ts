// The HTTP API of `secmo serve`. Cookie session + CSRF header on every change.

export type Role = 'viewer' | 'analyst' | 'admin';
export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export type IncidentStatus = 'new' | 'triaged' | 'investigating' | 'contained' | 'resolved' | 'closed';

export interface User { id: number; name: string; role: Role; disabled: boolean; created_ms: number }
export interface Me { user: User; csrf_token: string | null }
export interface Page<T> { items: T[]; next_cursor: string | null }
export interface Counted { key: string; count: number }
export interface TimelinePoint { t_ms: number; events: number; flagged: number; categories: Counted[] }
export interface Stats {
  since_ms: number; until_ms: number; bucket_ms: number; events: number; flagged_events: number; bytes: number;
  by_kind: Counted[]; by_status_class: Counted[]; by_category: Counted[]; timeline: TimelinePoint[];
  top_ips: Counted[]; top_paths: Counted[]; top_referrers: Counted[]; top_attackers: Counted[];
  alerts_by_severity: Counted[]; alerts_by_category: Counted[]; incidents_by_status: Counted[];
  open_incidents_by_severity: Counted[]; active_blocks: number; stored_events: number; generated_ms: number;
}
export interface EventRecord {
  id: number; ts_ms: number; source: string; file: string; line: number; kind: string; action: string; outcome: string;
  source_ip: string | null; user: string; method: string; path: string; query: string; status: number | null;
  bytes: number | null; referrer: string; user_agent: string; raw: string; rules: string[]; categories: string[]; blocked: boolean;
}
export interface Incident {
  id: number; rule_id: string; title: string; category: string; severity: Severity; source_ip: string | null;
  user: string | null; status: IncidentStatus; verdict: 'true_positive' | 'false_positive' | null; assignee: string | null;
  count: number; first_seen_ms: number; last_seen_ms: number; created_ms: number; updated_ms: number;
}
export interface Evidence { file: string; line: number; raw: string }
export interface AlertRecord {
  id: number; incident_id: number; source: string; rule_id: string; title: string; category: string; severity: Severity;
  source_ip: string | null; user: string | null; count: number; first_seen_ms: number; last_seen_ms: number;
  evidence: Evidence[]; description: string; recommendation: string;
}
export interface IncidentDetail extends Incident {
  description: string; recommendation: string;
  checklist: { step: string; done: boolean; done_by: string | null; done_ms: number | null }[];
  notes: { id: number; author: string; text: string; created_ms: number }[];
  activity: { id: number; at_ms: number; actor: string; action: string; detail: string }[];
  alerts: AlertRecord[];
}
export interface Block {
  id: number; net: string; reason: string; created_by: string; created_ms: number; expires_ms: number | null;
  rule_id: string | null; incident_id: number | null; lifted_ms: number | null; lifted_by: string | null;
}
export interface AllowEntry { id: number; net: string; note: string; created_by: string; created_ms: number }
export interface IpView {
  ip: string; summary: { events: number; flagged_events: number; first_seen_ms: number | null; last_seen_ms: number | null };
  blocked: boolean; allowlisted: boolean; blocks: Block[]; incidents: Incident[]; alerts: AlertRecord[]; recent_events: EventRecord[];
}
export interface SourceView {
  name: string; patterns: string[]; format: string | null; lines: number; events: number; unparsed: number;
  lines_per_sec: number; lag_bytes: number; last_error: string | null; last_line_ms: number | null;
  files: { path: string; [k: string]: unknown }[]; unparsed_samples: { [k: string]: unknown }[];
}
export interface ApiToken {
  id: number; user_id: number; user_name: string; name: string; prefix: string; created_ms: number;
  expires_ms: number | null; last_used_ms: number | null; revoked: boolean;
}
export interface IncidentTouch {
  incident_id: number; alert_id: number; created: boolean; rule_id: string; title: string; category: string;
  severity: Severity; source_ip: string | null; user: string | null; count: number; status: IncidentStatus;
}

export class ApiError extends Error {
  constructor(public status: number, message: string) { super(message); }
}

let csrf: string | null = null;
export function setCsrf(t: string | null) { csrf = t; }

/** Called on 401 so the app can show the login page. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(f: () => void) { onUnauthorized = f; }

export async function api<T>(method: string, path: string, body?: unknown, opts: { raw?: BodyInit; contentType?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let payload: BodyInit | undefined;
  if (opts.raw !== undefined) {
    payload = opts.raw;
    if (opts.contentType) headers['content-type'] = opts.contentType;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, `cannot reach the server (${(e as Error).message})`);
  }
  const text = await res.text();
  let data: unknown = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) {
    if (res.status === 401 && path !== '/api/auth/login') onUnauthorized();
    const msg = (data && typeof data === 'object' && 'message' in data) ? String((data as { message: unknown }).message) : `HTTP ${res.status}`;
    throw new ApiError(res.status, msg);
  }
  return data as T;
}

export const get = <T,>(path: string) => api<T>('GET', path);

/** Build a query string from the non-empty values. */
export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '' && v !== false) u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

export const SEVERITIES: Severity[] = ['critical', 'high', 'medium', 'low', 'info'];
export const STATUSES: IncidentStatus[] = ['new', 'triaged', 'investigating', 'contained', 'resolved', 'closed'];
export const roleAtLeast = (r: Role | undefined, min: Role) =>
  !!r && ['viewer', 'analyst', 'admin'].indexOf(r) >= ['viewer', 'analyst', 'admin'].indexOf(min);

// Reports (issue #5). Every string may come from a log line: rendered as text only.
export type ThreatLevel = 'none' | Severity;
export interface ReportMeta {
  id: number; created_ms: number; period_start_ms: number; period_end_ms: number; trigger: 'schedule' | 'manual' | string;
  requested_by: string; threat_level: ThreatLevel | string; incidents: number; events: number; flagged_events: number;
  language: string; delivered_to: string[];
}
/** POST /api/reports: the new report's meta and the outbox ids of the e-mails queued. */
export interface CreatedReport extends ReportMeta { queued?: number[] }
export interface PeriodSummary {
  events: number; flagged_events: number; incidents: number; high_or_worse: number; attackers: number; blocked_ips: number; by_severity: Counted[];
}
export interface ReportIncident {
  id: number | null; rule_id: string; title: string; category: string; severity: Severity | string; source_ip: string | null; user: string | null;
  status: string | null; count: number; first_seen_ms: number; last_seen_ms: number; description: string; recommendation: string;
  response: string[]; evidence: Evidence[];
}
export interface ReportAttacker { ip: string; requests: number; flagged: number; categories: string[]; blocked: boolean }
export interface ReportDoc {
  version?: number; id: number | null; generated_ms: number; period_start_ms: number; period_end_ms: number; scope: string;
  threat_level: ThreatLevel | string; summary: PeriodSummary; previous: PeriodSummary | null; incidents: ReportIncident[];
  incidents_omitted: number; top_attackers: ReportAttacker[]; categories: Counted[];
  timeline: { bucket_ms: number; points: { t_ms: number; events: number; flagged: number }[] };
  analytics: { top_pages: Counted[]; top_referrers: Counted[]; status_classes: Counted[]; by_kind: Counted[] };
}
export interface ReportFull { meta: ReportMeta; doc: ReportDoc }

// Notifications: settings come from secmo.toml (secrets are never sent).
export interface NotificationSettings {
  language: string;
  reports: { enabled: boolean; schedule: string; always_send: boolean; recipients: string[]; attach_pdf?: boolean; next_run_ms: number | null; last_run_ms: number | null };
  incidents: { min_severity: string; max_per_window: number; window_ms: number };
  channels: {
    email: { configured: boolean; server: string | null; security: string; from: string | null; recipients: string[] };
    slack: { configured: boolean };
    telegram: { configured: boolean; chat_id: string | null };
    webhook: { configured: boolean; url: string | null };
  };
}
export interface OutboxCounts { pending: number; sent: number; dead: number; failing: number }
export interface Notifications { settings: NotificationSettings; outbox_counts: OutboxCounts }
export type Channel = 'email' | 'slack' | 'telegram' | 'webhook';
export interface OutboxEntry {
  id: number; created_ms: number; channel: Channel | string; kind: 'report' | 'incident' | 'digest' | 'test' | string; target: string;
  subject: string; status: 'pending' | 'sent' | 'dead' | string; attempts: number; next_attempt_ms: number | null;
  last_error: string | null; sent_ms: number | null; report_id?: number | null;
}

export const LANGUAGES: [string, string][] = [['en', 'English'], ['es', 'Español'], ['de', 'Deutsch']];

/** A list of e-mail addresses typed by a person: split on commas, semicolons and white space.
 * Checked as the server checks them (config::valid_address). */
export function parseAddresses(s: string): { ok: string[]; bad: string[] } {
  const ok: string[] = [];
  const bad: string[] = [];
  for (const a of s.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean)) {
    const at = a.indexOf('@');
    const host = a.slice(at + 1);
    const valid = at > 0 && host.includes('.') && !host.includes('@') && !/[<>"\u0000-\u001f\u007f]/.test(a);
    (valid ? ok : bad).push(a);
  }
  return { ok, bad };
}
