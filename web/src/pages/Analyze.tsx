import { DragEvent, useMemo, useRef, useState } from 'react';
import { api, ApiError } from '../api';
import { useCan } from '../auth';
import { Chart, Option, short } from '../components/Chart';
import { Link } from '../router';
import { Card, num, Sev } from '../util';

interface TopList { entries: { value: string; count: number }[] }
interface Report {
  threat_level: string; period_start: string | null; period_end: string | null; rules_loaded: number;
  alerts: { rule_id: string; title: string; category: string; severity: string; source_ip: string | null; user: string | null;
    first_seen: string | null; last_seen: string | null; count: number; evidence: { file: string; line: number; raw: string }[];
    description: string; recommendation: string; response: string[] }[];
  analytics: { totals: { events: number; http_requests: number; http_errors: number; unique_ips: number; bytes_sent: number };
    top_source_ips: TopList; top_pages: TopList; top_referrer_domains: TopList; top_user_agents: TopList;
    status_classes: Record<string, number>; timeline: { bucket: string; buckets: { start: string; events: number; http_errors: number }[] } };
  inputs: { file: string; format: string; bytes: number; lines: number; parsed: number; skipped: number; unparsed: number;
    unparsed_samples: { line: number; reason: string; raw: string }[]; error: string | null }[];
  kept: boolean; incident_ids: number[];
}

const AXIS = { axisLine: { lineStyle: { color: '#334155' } }, splitLine: { lineStyle: { color: '#1e293b' } }, axisLabel: { color: '#94a3b8' } };

export function Analyze() {
  const canKeep = useCan('analyst');
  const [text, setText] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [keep, setKeep] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [report, setReport] = useState<Report | null>(null);
  const [drag, setDrag] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const run = async () => {
    setBusy(true); setError(null); setReport(null);
    try {
      const q = keep ? '?keep=true' : '';
      if (file) {
        const fd = new FormData(); fd.append('file', file, file.name);
        setReport(await api<Report>('POST', `/api/analyze${q}`, undefined, { raw: fd }));
      } else {
        setReport(await api<Report>('POST', `/api/analyze${q}`, { text, name: 'pasted' }));
      }
    } catch (e) { setError((e as ApiError).message); } finally { setBusy(false); }
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault(); setDrag(false);
    const f = e.dataTransfer.files[0];
    if (f) { setFile(f); setText(''); }
  };

  return (
    <div className="page">
      <div className="page-head"><h1>Analyze a log</h1></div>
      <Card>
        <div className={`dropzone ${drag ? 'over' : ''}`} onDragOver={(e) => { e.preventDefault(); setDrag(true); }} onDragLeave={() => setDrag(false)} onDrop={onDrop}>
          <p>Drop a log file here (plain, .gz or .zst), <button type="button" className="btn small" onClick={() => input.current?.click()}>choose a file</button>, or paste lines below.</p>
          <input ref={input} type="file" className="hidden-input" aria-label="Log file" data-testid="analyze-file" onChange={(e) => { const f = e.target.files?.[0]; if (f) { setFile(f); setText(''); } }} />
          {file && <p className="chosen">File: <strong>{file.name}</strong> ({num(file.size)} bytes) <button type="button" className="btn small ghost" onClick={() => { setFile(null); if (input.current) input.current.value = ''; }}>remove</button></p>}
        </div>
        <label className="block">Or paste a log
          <textarea aria-label="Log text" value={text} onChange={(e) => { setText(e.target.value); setFile(null); }} rows={8} className="mono" placeholder='203.0.113.7 - - [10/Oct/2025:13:55:36 +0000] "GET /?id=1%27%20OR%201=1-- HTTP/1.1" 200 512 "-" "sqlmap/1.7"' />
        </label>
        <div className="toolbar">
          {canKeep && <label className="check"><input type="checkbox" checked={keep} onChange={(e) => setKeep(e.target.checked)} />keep: record the alerts as incidents</label>}
          {!canKeep && <span className="muted small">The upload is analysed and discarded (keeping needs the analyst role).</span>}
          <button className="btn primary" disabled={busy || (!file && !text.trim())} onClick={run}>{busy ? 'Analysing…' : 'Analyze'}</button>
        </div>
      </Card>
      {error && <div className="state error" role="alert">{error}</div>}
      {busy && <div className="state loading" aria-busy="true">Analysing…</div>}
      {report && <ReportView r={report} />}
    </div>
  );
}

function ReportView({ r }: { r: Report }) {
  const a = r.analytics;
  const charts = useMemo(() => {
    const hb = (l: TopList, color: string): Option => {
      const e = l.entries.slice(0, 10).reverse();
      return { grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true }, tooltip: { trigger: 'item' }, xAxis: { type: 'value', ...AXIS },
        yAxis: { type: 'category', data: e.map((x) => x.value), ...AXIS, axisLabel: { color: '#cbd5e1', formatter: (v: string) => short(v, 28) } },
        series: [{ type: 'bar', data: e.map((x) => x.count), itemStyle: { color } }] };
    };
    return {
      timeline: { grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true }, legend: { top: 0, textStyle: { color: '#cbd5e1' } }, tooltip: { trigger: 'axis' },
        xAxis: { type: 'category', data: a.timeline.buckets.map((b) => b.start.replace('T', ' ').replace(/:00Z$|Z$/, '')), ...AXIS }, yAxis: { type: 'value', ...AXIS },
        series: [{ name: 'events', type: 'line', showSymbol: false, areaStyle: { opacity: 0.15 }, data: a.timeline.buckets.map((b) => b.events) },
          { name: 'HTTP errors', type: 'bar', data: a.timeline.buckets.map((b) => b.http_errors), itemStyle: { color: '#ef4444' } }] } as Option,
      status: { tooltip: { trigger: 'item' }, legend: { bottom: 0, textStyle: { color: '#cbd5e1' } },
        series: [{ type: 'pie', radius: ['45%', '70%'], center: ['50%', '45%'], label: { color: '#cbd5e1' },
          data: Object.entries(a.status_classes).filter(([, v]) => v).map(([k, v]) => ({ name: k.replace(/_/g, ' '), value: v })) }] } as Option,
      ips: hb(a.top_source_ips, '#f97316'),
      pages: hb(a.top_pages, '#38bdf8'),
    };
  }, [r]);
  return (
    <div data-testid="analyze-report">
      <div className="kpis">
        <div className="kpi"><div className="kpi-label">Threat level</div><div className="kpi-value"><span className={`badge big sev-${r.threat_level}`} data-testid="threat-level">{r.threat_level}</span></div></div>
        <div className="kpi"><div className="kpi-label">Alerts</div><div className="kpi-value">{r.alerts.length}</div></div>
        <div className="kpi"><div className="kpi-label">Events</div><div className="kpi-value">{num(a.totals.events)}</div><div className="kpi-sub">{num(a.totals.unique_ips)} IPs · {num(a.totals.http_errors)} HTTP errors</div></div>
        <div className="kpi"><div className="kpi-label">Period</div><div className="kpi-sub">{r.period_start ?? '—'}<br />{r.period_end ?? ''}</div></div>
      </div>
      {r.kept ? <div className="state ok" role="status">Kept: {r.incident_ids.length ? <>incidents {r.incident_ids.map((id) => <Link key={id} to={`/incidents/${id}`}>#{id} </Link>)}</> : 'no incidents'}</div>
        : <div className="state empty">Discarded: nothing was stored.</div>}
      {r.inputs.map((i) => (
        <p key={i.file} className="muted small">{i.file}: {i.format}, {num(i.lines)} lines, {num(i.parsed)} parsed, {num(i.unparsed)} unparsed{i.error ? ` — error: ${i.error}` : ''}</p>
      ))}
      <Card title="Alerts">
        {r.alerts.length === 0 ? <div className="state empty">No alerts: nothing suspicious found.</div> : r.alerts.map((al, n) => (
          <div key={n} className="alert-block">
            <div className="alert-head"><Sev s={al.severity} /> <strong>{al.title}</strong> <span className="muted">· {al.category} · {num(al.count)} events{al.source_ip ? ` · ${al.source_ip}` : ''}{al.user ? ` · user ${al.user}` : ''}</span></div>
            {al.description && <p className="desc">{al.description}</p>}
            <ol className="evidence">{al.evidence.map((e, i) => <li key={i}><span className="muted small">{e.file}:{e.line}</span><pre className="raw">{e.raw}</pre></li>)}</ol>
            {al.recommendation && <p className="rec"><strong>Recommendation: </strong>{al.recommendation}</p>}
            {al.response.length > 0 && <ul className="steps">{al.response.map((s, i) => <li key={i}>{s}</li>)}</ul>}
          </div>
        ))}
      </Card>
      <div className="grid">
        <Card title="Timeline" className="span2"><Chart label="Events over time" option={charts.timeline} /></Card>
        <Card title="Status classes"><Chart label="Status classes" option={charts.status} /></Card>
        <Card title="Top source IPs"><Chart label="Top source IPs" option={charts.ips} /></Card>
        <Card title="Top pages" className="span2"><Chart label="Top pages" option={charts.pages} /></Card>
      </div>
    </div>
  );
}
