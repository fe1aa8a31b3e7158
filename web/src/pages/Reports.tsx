import { FormEvent, useEffect, useState } from 'react';
import { api, ApiError, CreatedReport, get, LANGUAGES, Notifications, Page, parseAddresses, qs, ReportMeta } from '../api';
import { useCan } from '../auth';
import { Link } from '../router';
import { refreshOutbox } from '../outbox';
import { Card, num, State, Time, useLoad, Pager } from '../util';

const PERIODS: [string, string][] = [['1h', 'Last hour'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days']];

/** "24 h", "7 d", "90 min": the length of a report's period. */
export function span(ms: number): string {
  if (ms <= 0) return '—';
  if (ms < 3600e3 - 30e3) return `${Math.round(ms / 60e3)} min`;
  if (ms <= 2 * 86400e3 + 60e3) return `${Math.round(ms / 3600e3)} h`;
  return `${Math.round(ms / 86400e3)} d`;
}

export function Threat({ level, testid }: { level: string; testid?: string }) {
  return <span className={`badge sev-${level}`} data-testid={testid}>{level}</span>;
}

export function Reports() {
  const canGenerate = useCan('analyst');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1] ?? '';
  const list = useLoad(() => get<Page<ReportMeta>>(`/api/reports${qs({ cursor, limit: 20 })}`), [cursor]);
  const notif = useLoad(() => get<Notifications>('/api/notifications').catch(() => null), []);
  const sched = notif.data?.settings.reports;

  return (
    <div className="page">
      <div className="page-head"><h1>Reports</h1>
        {sched && <span className="muted small" data-testid="report-schedule">{sched.enabled
          ? <>Scheduled: <code>{sched.schedule}</code>{sched.next_run_ms ? <> · next <Time ms={sched.next_run_ms} /></> : null}</>
          : 'Scheduled reports are off'} · <Link to="/settings">settings</Link></span>}
      </div>
      {canGenerate ? <GenerateForm onDone={() => { setCursors([]); list.reload(); }} defaultLanguage={notif.data?.settings.language}
        mail={notif.data ? notif.data.settings.channels.email.configured : true} />
        : <p className="muted small">Generating and sending reports needs the analyst role; you can read and download the stored ones.</p>}
      <Card title="Stored reports">
        <State loading={list.loading} error={list.error} empty={!list.data?.items.length}
          emptyText={canGenerate ? 'No reports yet. Generate one above, or wait for the schedule.' : 'No reports yet.'}>
          <div className="table-wrap">
            <table className="table" data-testid="reports-table">
              <thead><tr><th>Report</th><th>Created</th><th>Period</th><th>Threat level</th><th className="num">Incidents</th><th className="num">Events</th><th>Trigger</th><th>Delivered to</th></tr></thead>
              <tbody>
                {list.data?.items.map((r) => (
                  <tr key={r.id}>
                    <td className="nowrap"><Link to={`/reports/${r.id}`}>Report #{r.id}</Link></td>
                    <td><Time ms={r.created_ms} /></td>
                    <td>{span(r.period_end_ms - r.period_start_ms)}<div className="muted small">from <Time ms={r.period_start_ms} /></div></td>
                    <td><Threat level={r.threat_level} /></td>
                    <td className="num">{num(r.incidents)}</td>
                    <td className="num">{num(r.events)}{r.flagged_events > 0 && <div className="muted small">{num(r.flagged_events)} flagged</div>}</td>
                    <td>{r.trigger}{r.requested_by && <div className="muted small">{r.requested_by}</div>}</td>
                    <td>{r.delivered_to.length ? <ul className="plain tight">{r.delivered_to.map((a, i) => <li key={i}>{a}</li>)}</ul> : <span className="muted">—</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </State>
        <Pager cursors={cursors} setCursors={setCursors} next={list.data?.next_cursor} />
      </Card>
    </div>
  );
}

function GenerateForm({ onDone, defaultLanguage, mail }: { onDone: () => void; defaultLanguage?: string; mail: boolean }) {
  const [since, setSince] = useState('24h');
  const [language, setLanguage] = useState('');
  const [to, setTo] = useState('');
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string; id?: number } | null>(null);
  const [invalid, setInvalid] = useState<string[]>([]);
  useEffect(() => { if (!language && defaultLanguage && LANGUAGES.some(([c]) => c === defaultLanguage)) setLanguage(defaultLanguage); }, [defaultLanguage]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { ok, bad } = parseAddresses(to);
    setInvalid(bad);
    if (bad.length) { setMsg({ ok: false, text: `Not an e-mail address: ${bad.join(', ')}` }); return; }
    setBusy(true); setMsg(null);
    try {
      const r = await api<CreatedReport>('POST', '/api/reports', { since, language: language || undefined, send_to: ok.length ? ok : undefined });
      setMsg({ ok: true, id: r.id, text: `Report #${r.id} generated: threat level ${r.threat_level}, ${num(r.incidents)} incident${r.incidents === 1 ? '' : 's'}, ${num(r.events)} events.${ok.length ? ` E-mail queued to ${ok.join(', ')}${r.queued ? ` (${r.queued.length} message${r.queued.length === 1 ? '' : 's'})` : ''}.` : ''}` });
      setTo('');
      onDone();
      if (ok.length) refreshOutbox();
    } catch (err) { setMsg({ ok: false, text: (err as ApiError).message }); } finally { setBusy(false); }
  };

  return (
    <Card title="Generate a report">
      <form className="filters" onSubmit={submit} aria-label="Generate a report" noValidate>
        <label>Period<select name="since" value={since} onChange={(e) => setSince(e.target.value)}>{PERIODS.map(([v, l]) => <option key={v} value={v}>{l}</option>)}</select></label>
        <label>Language<select name="language" value={language} onChange={(e) => setLanguage(e.target.value)}>
          <option value="">default</option>{LANGUAGES.map(([c, l]) => <option key={c} value={c}>{l}</option>)}</select></label>
        <label className="grow">Send to (optional, comma-separated)
          <input name="send_to" type="text" inputMode="email" autoComplete="off" value={to} disabled={!mail}
            placeholder={mail ? 'soc@example.org, it@example.org' : 'e-mail is not configured ([smtp] in secmo.toml)'}
            aria-invalid={invalid.length > 0} aria-describedby="gen-help"
            onChange={(e) => { setTo(e.target.value); if (invalid.length) setInvalid([]); }} /></label>
        <button className="btn primary" disabled={busy}>{busy ? 'Generating…' : 'Generate report'}</button>
      </form>
      <p id="gen-help" className="muted small">The report covers the period up to now and is stored here; with addresses it is also e-mailed (HTML with a PDF attached).</p>
      {msg && <div className={`state ${msg.ok ? 'ok' : 'error'}`} role={msg.ok ? 'status' : 'alert'}>{msg.text}
        {msg.id !== undefined && <> <Link to={`/reports/${msg.id}`}>Open report #{msg.id} →</Link></>}</div>}
    </Card>
  );
}
