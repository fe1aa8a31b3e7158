import { FormEvent, ReactNode, useMemo, useState } from 'react';
import { api, ApiError, Counted, get, LANGUAGES, parseAddresses, PeriodSummary, ReportDoc, ReportFull } from '../api';
import { useCan } from '../auth';
import { Chart, Option, short } from '../components/Chart';
import { Link } from '../router';
import { refreshOutbox, useNotifications } from '../outbox';
import { Card, num, Sev, State, Status, Time, useLoad } from '../util';
import { span } from './Reports';

const AXIS = { axisLine: { lineStyle: { color: '#334155' } }, splitLine: { lineStyle: { color: '#1e293b' } }, axisLabel: { color: '#94a3b8' } };
const FORMATS: [string, string][] = [['html', 'HTML'], ['pdf', 'PDF'], ['csv', 'CSV'], ['json', 'JSON'], ['txt', 'Text']];

export function ReportPage({ id }: { id: string }) {
  const rep = useLoad(() => get<ReportFull>(`/api/reports/${encodeURIComponent(id)}`), [id]);
  const canSend = useCan('analyst');
  const notif = useNotifications();
  const mail = notif ? notif.settings.channels.email.configured : true;
  const d = rep.data?.doc;
  const meta = rep.data?.meta;
  return (
    <div className="page">
      <p><Link to="/reports">← Reports</Link></p>
      <State loading={rep.loading} error={rep.error} empty={!d}>
        {d && meta && (
          <>
            <div className="page-head">
              <h1>Report #{meta.id} <span className="muted">· {span(d.period_end_ms - d.period_start_ms)}</span></h1>
            </div>
            <p className="muted">
              {d.scope && <><strong className="scope">{d.scope}</strong> · </>}
              <Time ms={d.period_start_ms} /> → <Time ms={d.period_end_ms} /> · generated <Time ms={d.generated_ms} />
              {' '}· {meta.trigger}{meta.requested_by ? ` by ${meta.requested_by}` : ''}
              {meta.delivered_to.length > 0 && <> · sent to {meta.delivered_to.join(', ')}</>}
            </p>
            <Card className="share">
              <div className="share-row">
                <Downloads id={meta.id} language={meta.language} />
                {canSend && (mail ? <SendForm id={meta.id} language={meta.language} />
                  : <span className="muted small">E-mail is not configured: add an <code>[smtp]</code> section to secmo.toml to send reports.</span>)}
              </div>
            </Card>
            <ReportBody d={d} />
          </>
        )}
      </State>
    </div>
  );
}

function Downloads({ id, language }: { id: number; language: string }) {
  const [lang, setLang] = useState(LANGUAGES.some(([c]) => c === language) ? language : 'en');
  return (
    <div className="toolbar downloads" role="group" aria-label="Download">
      <span className="share-label">Download</span>
      {FORMATS.map(([f, label]) => (
        <a key={f} className="btn small" href={`/api/reports/${id}/download?format=${f}&lang=${lang}`} download data-format={f}>{label}</a>
      ))}
      <label className="inline">in<select aria-label="Download language" value={lang} onChange={(e) => setLang(e.target.value)}>
        {LANGUAGES.map(([c, l]) => <option key={c} value={c}>{l}</option>)}</select></label>
    </div>
  );
}

function SendForm({ id, language }: { id: number; language: string }) {
  const [to, setTo] = useState('');
  const [lang, setLang] = useState(LANGUAGES.some(([c]) => c === language) ? language : 'en');
  const [busy, setBusy] = useState(false);
  const [invalid, setInvalid] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: ReactNode } | null>(null);
  const send = async (e: FormEvent) => {
    e.preventDefault();
    const { ok, bad } = parseAddresses(to);
    if (bad.length || !ok.length) {
      setInvalid(true);
      setMsg({ ok: false, text: bad.length ? `Not an e-mail address: ${bad.join(', ')}` : 'Give at least one e-mail address.' });
      return;
    }
    setBusy(true); setMsg(null); setInvalid(false);
    try {
      const r = await api<{ queued: number[] | number }>('POST', `/api/reports/${id}/send`, { to: ok, language: lang });
      const n = Array.isArray(r.queued) ? r.queued.length : r.queued;
      const langName = LANGUAGES.find(([c]) => c === lang)?.[1] ?? lang;
      setMsg({ ok: true, text: <>Queued {n} e-mail{n === 1 ? '' : 's'} to {ok.join(', ')} ({langName}). Delivery status: <Link to="/settings">Settings</Link>.</> });
      setTo('');
      refreshOutbox();
    } catch (err) { setMsg({ ok: false, text: (err as ApiError).message }); } finally { setBusy(false); }
  };
  return (
    <div className="send">
      <form className="inline-form send-form" onSubmit={send} aria-label="Send this report" noValidate>
        <label className="share-label" htmlFor="send-to">Send by e-mail to</label>
        <input id="send-to" name="send_to" type="text" inputMode="email" autoComplete="off" value={to} aria-invalid={invalid}
          placeholder="addresses, comma-separated" onChange={(e) => { setTo(e.target.value); setInvalid(false); }} />
        <select aria-label="Language of the e-mail" value={lang} onChange={(e) => setLang(e.target.value)}>
          {LANGUAGES.map(([c, l]) => <option key={c} value={c}>{l}</option>)}</select>
        <button className="btn" disabled={busy}>{busy ? 'Sending…' : 'Send now'}</button>
      </form>
      {msg && <div className={`state ${msg.ok ? 'ok' : 'error'}`} role={msg.ok ? 'status' : 'alert'}>{msg.text}</div>}
    </div>
  );
}

/** "+3 vs previous period (5)": more is worse for every count of a report. */
function Delta({ cur, prev }: { cur: number; prev: number | undefined }) {
  if (prev === undefined) return null;
  const d = cur - prev;
  if (d === 0) return <div className="kpi-sub">same as the previous period</div>;
  const pct = prev > 0 ? ` (${d > 0 ? '+' : ''}${Math.round((d / prev) * 100)}%)` : '';
  return <div className={`kpi-sub delta ${d > 0 ? 'up' : 'down'}`}>{d > 0 ? '▲ +' : '▼ −'}{num(Math.abs(d))}{pct} vs previous ({num(prev)})</div>;
}

function Kpi({ label, k, s, p, children }: { label: string; k: keyof Omit<PeriodSummary, 'by_severity'>; s: PeriodSummary; p: PeriodSummary | null; children?: ReactNode }) {
  return (
    <div className="kpi" data-testid={`report-kpi-${k}`}>
      <div className="kpi-label">{label}</div>
      <div className="kpi-value">{num(s[k])}</div>
      <Delta cur={s[k]} prev={p ? p[k] : undefined} />
      {children}
    </div>
  );
}

function fmtBucket(t: number, bucket: number, multiDay: boolean) {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  if (bucket >= 86400e3) return day;
  const hm = `${p(d.getHours())}:${p(d.getMinutes())}`;
  return multiDay ? `${day.slice(5)} ${hm}` : hm;
}

function CountTable({ rows, head, empty, testid }: { rows: Counted[]; head: string; empty: string; testid?: string }) {
  if (!rows.length) return <div className="state empty">{empty}</div>;
  return (
    <div className="table-wrap"><table className="table compact" data-testid={testid}>
      <thead><tr><th>{head}</th><th className="num">Count</th></tr></thead>
      <tbody>{rows.map((r, i) => <tr key={i}><td className="clip wide" title={r.key}>{r.key}</td><td className="num">{num(r.count)}</td></tr>)}</tbody>
    </table></div>
  );
}

export function ReportBody({ d }: { d: ReportDoc }) {
  const s = d.summary;
  const p = d.previous;
  const charts = useMemo(() => {
    const multiDay = d.period_end_ms - d.period_start_ms > 86400e3;
    const pts = d.timeline.points;
    const timeline: Option = {
      grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true }, legend: { top: 0, textStyle: { color: '#cbd5e1' } }, tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: pts.map((x) => fmtBucket(x.t_ms, d.timeline.bucket_ms, multiDay)), ...AXIS }, yAxis: { type: 'value', ...AXIS },
      series: [
        { name: 'events', type: 'line', showSymbol: false, areaStyle: { opacity: 0.15 }, data: pts.map((x) => x.events), itemStyle: { color: '#38bdf8' } },
        { name: 'flagged', type: 'bar', data: pts.map((x) => x.flagged), itemStyle: { color: '#ef4444' } },
      ],
    };
    const cats = d.categories.slice(0, 12).reverse();
    const categories: Option = {
      grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true }, tooltip: { trigger: 'item' }, xAxis: { type: 'value', ...AXIS },
      yAxis: { type: 'category', data: cats.map((c) => c.key), ...AXIS, axisLabel: { color: '#cbd5e1', formatter: (v: string) => short(v, 24) } },
      series: [{ type: 'bar', data: cats.map((c) => c.count), itemStyle: { color: '#a855f7' } }],
    };
    return { timeline, categories, catHeight: Math.max(160, cats.length * 26 + 30) };
  }, [d]);

  return (
    <div className="report" data-testid="report-doc">
      <div className="kpis report-kpis">
        <div className="kpi"><div className="kpi-label">Threat level</div><div className="kpi-value"><span className={`badge big sev-${d.threat_level}`} data-testid="report-threat">{d.threat_level}</span></div>
          {s.by_severity.length > 0 && <div className="kpi-sub sevs">{s.by_severity.map((c) => <span key={c.key} className={`sev-text-${c.key}`}>{num(c.count)} {c.key}</span>)}</div>}</div>
        <Kpi label="Incidents" k="incidents" s={s} p={p}><div className="kpi-sub">{num(s.high_or_worse)} high or critical</div></Kpi>
        <Kpi label="Events" k="events" s={s} p={p} />
        <Kpi label="Flagged events" k="flagged_events" s={s} p={p} />
        <Kpi label="Attackers" k="attackers" s={s} p={p} />
        <Kpi label="Blocked IPs" k="blocked_ips" s={s} p={p} />
      </div>
      {!p && <p className="muted small">No previous period to compare with.</p>}

      <Card title={`Incidents (${num(s.incidents)})`}>
        {d.incidents.length === 0 ? <div className="state empty">No incidents in this period.</div> : (
          <ol className="plain report-incidents" data-testid="report-incidents">
            {d.incidents.map((i, n) => (
              <li key={n} className="alert-block">
                <div className="alert-head"><Sev s={i.severity} /> <strong className="incident-title">{i.id !== null ? <Link to={`/incidents/${i.id}`}>{i.title}</Link> : i.title}</strong>
                  {i.status && <> <Status s={i.status} /></>}
                  <span className="muted"> · {i.category} · {num(i.count)} event{i.count === 1 ? '' : 's'}
                    {i.source_ip && <> · <Link to={`/ips/${encodeURIComponent(i.source_ip)}`}>{i.source_ip}</Link></>}
                    {i.user ? ` · user ${i.user}` : ''} · <Time ms={i.first_seen_ms} /> → <Time ms={i.last_seen_ms} /></span>
                </div>
                {i.description && <p className="desc">{i.description}</p>}
                {i.recommendation && <p className="rec"><strong>Recommendation: </strong>{i.recommendation}</p>}
                {i.response.length > 0 && <>
                  <div className="muted small">What to do</div>
                  <ol className="response">{i.response.map((r, k) => <li key={k}>{r}</li>)}</ol>
                </>}
                {i.evidence.length > 0 && <>
                  <div className="muted small">Evidence</div>
                  <ol className="evidence">{i.evidence.map((e, k) => <li key={k}><span className="muted small">{e.file}:{e.line}</span><pre className="raw">{e.raw}</pre></li>)}</ol>
                </>}
              </li>
            ))}
          </ol>
        )}
        {d.incidents_omitted > 0 && <p className="muted">…and {num(d.incidents_omitted)} more incident{d.incidents_omitted === 1 ? '' : 's'} not listed (see <Link to="/incidents">Incidents</Link>).</p>}
      </Card>

      <div className="grid">
        <Card title="Timeline" className="span2">
          {d.timeline.points.length ? <Chart label="Events and flagged events over the period" option={charts.timeline} /> : <div className="state empty">No events in this period.</div>}
        </Card>
        <Card title="Top attackers">
          {d.top_attackers.length === 0 ? <div className="state empty">No attackers in this period.</div> : (
            <div className="table-wrap"><table className="table compact" data-testid="report-attackers">
              <thead><tr><th>IP</th><th className="num">Requests</th><th className="num">Flagged</th><th>Categories</th><th>Blocked</th></tr></thead>
              <tbody>{d.top_attackers.map((a) => (
                <tr key={a.ip}><td><Link to={`/ips/${encodeURIComponent(a.ip)}`}>{a.ip}</Link></td><td className="num">{num(a.requests)}</td><td className="num">{num(a.flagged)}</td>
                  <td>{a.categories.map((c) => <span key={c} className="badge cat">{c}</span>)}</td><td>{a.blocked ? <span className="badge sev-high">blocked</span> : <span className="muted">no</span>}</td></tr>
              ))}</tbody>
            </table></div>
          )}
        </Card>
        <Card title="Attack categories">
          {d.categories.length === 0 ? <div className="state empty">No flagged events.</div>
            : <Chart label="Flagged events per attack category" option={charts.categories} height={charts.catHeight} />}
        </Card>
        <Card title="Top pages"><CountTable rows={d.analytics.top_pages} head="Page" empty="No HTTP requests." /></Card>
        <Card title="Top referrers"><CountTable rows={d.analytics.top_referrers} head="Referrer" empty="No referrers." /></Card>
        <Card title="Status classes"><CountTable rows={d.analytics.status_classes} head="Class" empty="No HTTP responses." /></Card>
        <Card title="Events by kind"><CountTable rows={d.analytics.by_kind} head="Kind" empty="No events." /></Card>
      </div>
    </div>
  );
}
