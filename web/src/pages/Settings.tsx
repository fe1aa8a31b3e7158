import { ReactNode, useEffect, useState } from 'react';
import { api, ApiError, Channel, get, LANGUAGES, Notifications, OutboxEntry, Page, parseAddresses, qs } from '../api';
import { useCan } from '../auth';
import { onOutbox, refreshOutbox } from '../outbox';
import { Link } from '../router';
import { Card, num, State, Time, useLoad, Pager } from '../util';

const FILTERS: [string, string][] = [['', 'All'], ['pending', 'Pending'], ['sent', 'Sent'], ['dead', 'Given up']];

function duration(ms: number): string {
  if (ms % 86400e3 === 0) return `${ms / 86400e3} d`;
  if (ms % 3600e3 === 0) return `${ms / 3600e3} h`;
  if (ms % 60e3 === 0) return `${ms / 60e3} min`;
  return `${Math.round(ms / 1000)} s`;
}
const yes = (b: boolean) => (b ? 'yes' : 'no');
const list = (a: string[]) => (a.length ? a.join(', ') : <span className="muted">none</span>);
const orNone = (v: string | null | undefined) => (v ? v : <span className="muted">—</span>);
const langName = (c: string) => LANGUAGES.find(([k]) => k === c)?.[1] ?? c;

export function Settings() {
  const isAdmin = useCan('admin');
  const notif = useLoad(() => get<Notifications>('/api/notifications'), []);
  const [status, setStatus] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1] ?? '';
  const outbox = useLoad(() => get<Page<OutboxEntry>>(`/api/notifications/outbox${qs({ status, cursor, limit: 25 })}`), [status, cursor]);
  // The newest failure, for the banner (whatever the table's filter).
  const failing = useLoad(() => get<Page<OutboxEntry>>('/api/notifications/outbox?status=pending&limit=50')
    .then((p) => p.items.find((e) => e.last_error) ?? null).catch(() => null), []);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  // Keep the nav badge and this page in step.
  useEffect(() => onOutbox((n) => { if (n) notif.setData(n); }), []);
  const reloadAll = () => { notif.reload(); outbox.reload(); failing.reload(); refreshOutbox(); };

  const act = async (f: () => Promise<string>) => {
    setBusy(true); setMsg(null);
    try { setMsg({ ok: true, text: await f() }); reloadAll(); } catch (e) { setMsg({ ok: false, text: (e as ApiError).message }); } finally { setBusy(false); }
  };
  const retry = (e: OutboxEntry) => act(async () => {
    await api<OutboxEntry>('POST', `/api/notifications/outbox/${e.id}/retry`);
    return `Message #${e.id} will be retried now.`;
  });
  const test = (channel: Channel, to?: string[]) => act(async () => {
    // The answer is the outbox id of the test message.
    const r = await api<{ queued: number }>('POST', '/api/notifications/test', { channel, to });
    return `Queued test message #${r.queued} via ${channel}${to?.length ? ` to ${to.join(', ')}` : ''}. Watch the outbox below.`;
  });

  const n = notif.data;
  const c = n?.outbox_counts;
  const problems = c ? c.failing + c.dead : 0;
  const s = n?.settings;

  return (
    <div className="page">
      <div className="page-head"><h1>Settings</h1>
        <button className="btn" onClick={reloadAll}>Refresh</button>
      </div>
      {c && problems > 0 && (
        <div className="state error banner" role="alert" data-testid="delivery-alert">
          <strong>Notifications are not being delivered.</strong>{' '}
          {c.failing > 0 && <>{num(c.failing)} message{c.failing === 1 ? '' : 's'} failing (will retry)</>}
          {c.failing > 0 && c.dead > 0 && ', '}
          {c.dead > 0 && <>{num(c.dead)} given up</>}.
          {failing.data && <div className="banner-detail">Last error ({failing.data.channel} to {failing.data.target}): <code className="err">{failing.data.last_error}</code>
            {failing.data.next_attempt_ms && <> · next attempt <Time ms={failing.data.next_attempt_ms} /></>}</div>}
        </div>
      )}
      {msg && <div className={`state ${msg.ok ? 'ok' : 'error'}`} role={msg.ok ? 'status' : 'alert'}>{msg.text}</div>}

      {s && !Object.values(s.channels).some((ch) => ch.configured) && (
        <div className="state empty" data-testid="no-channels">No delivery channel is configured: reports are stored here but nothing is sent.
          Add an <code>[smtp]</code> section or a <code>[notify.slack]</code>, <code>[notify.telegram]</code> or <code>[notify.webhook]</code> table to secmo.toml.</div>
      )}
      <Card title="Delivery">
        <State loading={notif.loading} error={notif.error} empty={!c}>
          {c && <div className="kpis outbox-counts" data-testid="outbox-counts">
            <Count label="Pending" v={c.pending} on={() => { setStatus('pending'); setCursors([]); }} />
            <Count label="Failing" sub="pending, will retry" v={c.failing} bad on={() => { setStatus('pending'); setCursors([]); }} />
            <Count label="Sent" v={c.sent} on={() => { setStatus('sent'); setCursors([]); }} />
            <Count label="Given up" sub="retry by hand" v={c.dead} bad on={() => { setStatus('dead'); setCursors([]); }} />
          </div>}
        </State>
        <div className="toolbar outbox-filter" role="group" aria-label="Outbox filter">
          <span className="muted small">Outbox</span>
          {FILTERS.map(([v, l]) => <button key={v} className="btn small" aria-pressed={status === v} onClick={() => { setStatus(v); setCursors([]); }}>{l}</button>)}
        </div>
        <State loading={outbox.loading} error={outbox.error} empty={!outbox.data?.items.length}
          emptyText={status ? `No ${FILTERS.find(([v]) => v === status)?.[1].toLowerCase()} messages.` : 'Nothing was sent yet.'}>
          <div className="table-wrap">
            <table className="table outbox" data-testid="outbox-table">
              <thead><tr><th>#</th><th>Created</th><th>Channel</th><th>To</th><th>Subject</th><th>Status</th><th className="num">Tries</th><th>Next attempt / sent</th>{isAdmin && <th><span className="sr">Actions</span></th>}</tr></thead>
              <tbody>
                {outbox.data?.items.map((e) => {
                  const isFailing = e.status === 'pending' && !!e.last_error;
                  return (
                    <tr key={e.id} className={isFailing || e.status === 'dead' ? 'failing' : undefined}>
                      <td>{e.id}</td>
                      <td className="when"><Time ms={e.created_ms} /></td>
                      <td>{e.channel}<div className="muted small kind">{e.kind}</div></td>
                      <td className="clip" title={e.target}>{e.target}</td>
                      <td className="subject">{e.subject}{e.report_id ? <> · <Link to={`/reports/${e.report_id}`}>report #{e.report_id}</Link></> : null}{e.last_error && <div className="last-error"><span className="muted small">last error: </span><code className="err">{e.last_error}</code></div>}</td>
                      <td><span className={`badge ob-${isFailing ? 'failing' : e.status}`}>{isFailing ? 'failing' : e.status === 'dead' ? 'given up' : e.status}</span></td>
                      <td className="num">{num(e.attempts)}</td>
                      <td className="when">{e.status === 'sent' ? <Time ms={e.sent_ms} /> : e.status === 'pending' ? <>{isFailing && <span className="muted small">retry </span>}<Time ms={e.next_attempt_ms} /></> : <span className="muted">—</span>}</td>
                      {isAdmin && <td>{e.status !== 'sent' && <button className="btn small nowrap" disabled={busy} onClick={() => retry(e)} aria-label={`Retry message ${e.id} now`}>Retry now</button>}</td>}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </State>
        <Pager cursors={cursors} setCursors={setCursors} next={outbox.data?.next_cursor} />
      </Card>

      <p className="muted">These settings are read from <code>secmo.toml</code> when <code>secmo serve</code> starts: change them there and restart.
        Every key is described in <code>docs/secmo.example.toml</code>. Passwords, tokens and webhook secrets are never shown.</p>

      {s && <div className="grid">
        <Card title="Channels" className="span2">
          <div className="table-wrap"><table className="table channels" data-testid="channels-table">
            <thead><tr><th>Channel</th><th>Configured</th><th>Details</th>{isAdmin && <th><span className="sr">Actions</span></th>}</tr></thead>
            <tbody>
              <ChannelRow name="email" label="E-mail (SMTP)" configured={s.channels.email.configured} admin={isAdmin} busy={busy} onTest={test} email>
                <dl className="dl">
                  <dt>Server</dt><dd>{orNone(s.channels.email.server)}{s.channels.email.security && <span className="muted"> ({s.channels.email.security})</span>}</dd>
                  <dt>From</dt><dd>{orNone(s.channels.email.from)}</dd>
                  <dt>Incident mail to</dt><dd>{list(s.channels.email.recipients)}</dd>
                </dl>
              </ChannelRow>
              <ChannelRow name="slack" label="Slack" configured={s.channels.slack.configured} admin={isAdmin} busy={busy} onTest={test}>
                <span className="muted">incoming webhook</span>
              </ChannelRow>
              <ChannelRow name="telegram" label="Telegram" configured={s.channels.telegram.configured} admin={isAdmin} busy={busy} onTest={test}>
                <dl className="dl"><dt>Chat</dt><dd>{orNone(s.channels.telegram.chat_id)}</dd></dl>
              </ChannelRow>
              <ChannelRow name="webhook" label="Webhook" configured={s.channels.webhook.configured} admin={isAdmin} busy={busy} onTest={test}>
                <dl className="dl"><dt>URL</dt><dd>{orNone(s.channels.webhook.url)}</dd></dl>
              </ChannelRow>
            </tbody>
          </table></div>
        </Card>
        <Card title="Scheduled reports">
          <dl className="dl" data-testid="report-settings">
            <dt>Enabled</dt><dd>{yes(s.reports.enabled)}</dd>
            <dt>Schedule</dt><dd><code>{s.reports.schedule || '—'}</code></dd>
            <dt>Recipients</dt><dd>{list(s.reports.recipients)}</dd>
            <dt>Send when quiet</dt><dd>{s.reports.always_send ? 'yes, even with nothing to report' : 'no, only when there is something to report'}</dd>
            {s.reports.attach_pdf !== undefined && <><dt>PDF attached</dt><dd>{yes(s.reports.attach_pdf)}</dd></>}
            <dt>Language</dt><dd>{langName(s.language)}</dd>
            <dt>Last run</dt><dd><Time ms={s.reports.last_run_ms} /></dd>
            <dt>Next run</dt><dd>{s.reports.enabled ? <Time ms={s.reports.next_run_ms} /> : <span className="muted">—</span>}</dd>
          </dl>
        </Card>
        <Card title="Incident notifications">
          <dl className="dl">
            <dt>Minimum severity</dt><dd><span className={`badge sev-${s.incidents.min_severity}`}>{s.incidents.min_severity}</span></dd>
            <dt>Rate limit</dt><dd>at most {num(s.incidents.max_per_window)} per {duration(s.incidents.window_ms)}; the rest are sent as a digest</dd>
          </dl>
        </Card>
      </div>}
    </div>
  );
}

function Count({ label, sub, v, bad, on }: { label: string; sub?: string; v: number; bad?: boolean; on: () => void }) {
  return (
    <div className={`kpi ${bad && v > 0 ? 'kpi-bad' : ''}`}>
      <div className="kpi-label">{label}</div>
      <div className="kpi-value"><button className="link-btn" onClick={on} aria-label={`${label}: ${v}, show in the outbox`}>{num(v)}</button></div>
      {sub && <div className="kpi-sub">{sub}</div>}
    </div>
  );
}

function ChannelRow({ name, label, configured, admin, busy, onTest, email, children }: {
  name: Channel; label: string; configured: boolean; admin: boolean; busy: boolean; email?: boolean;
  onTest: (c: Channel, to?: string[]) => void; children: ReactNode;
}) {
  const [to, setTo] = useState('');
  const [bad, setBad] = useState(false);
  return (
    <tr data-channel={name}>
      <td><strong>{label}</strong></td>
      <td>{configured ? <span className="badge st-resolved">configured</span> : <span className="badge">not configured</span>}</td>
      <td>{configured ? children : <span className="muted">not set in secmo.toml</span>}</td>
      {admin && <td>{configured && (
        <form className="inline-form" aria-label={`Send a test via ${label}`} noValidate onSubmit={(e) => {
          e.preventDefault();
          const { ok, bad: b } = parseAddresses(to);
          if (b.length) { setBad(true); return; }
          onTest(name, ok.length ? ok : undefined);
        }}>
          {email && <input className="test-to" aria-label="Test recipients (optional)" placeholder="to (optional)" title="Default: the configured recipients" value={to} aria-invalid={bad}
            onChange={(e) => { setTo(e.target.value); setBad(false); }} />}
          <button className="btn small" disabled={busy}>Send test</button>
          {bad && <span className="error-text" role="alert">not an e-mail address</span>}
        </form>)}</td>}
    </tr>
  );
}
