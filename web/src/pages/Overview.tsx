import { useEffect, useMemo, useRef, useState } from 'react';
import { get, Incident, qs, SEVERITIES, SourceView, Stats, Page, IncidentTouch } from '../api';
import { Chart, Option, short } from '../components/Chart';
import { Link, navigate } from '../router';
import { subscribe } from '../stream';
import { ago, Card, num, Sev, State, Status, Time, useLoad } from '../util';

const RANGES: [string, string, number][] = [
  ['15m', 'Last 15 min', 15 * 60e3],
  ['1h', 'Last hour', 3600e3],
  ['6h', 'Last 6 h', 6 * 3600e3],
  ['24h', 'Last 24 h', 86400e3],
  ['7d', 'Last 7 days', 7 * 86400e3],
  ['30d', 'Last 30 days', 30 * 86400e3],
];
const SEV_COLOR: Record<string, string> = { critical: '#ef4444', high: '#f97316', medium: '#eab308', low: '#3b82f6', info: '#64748b' };
const AXIS = { axisLine: { lineStyle: { color: '#334155' } }, splitLine: { lineStyle: { color: '#1e293b' } }, axisLabel: { color: '#94a3b8' } };

function toLocalInput(ms: number) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 16);
}

function refDomain(r: string): string {
  try { return new URL(r).host || r; } catch { return r.replace(/^[a-z]+:\/\//i, '').split('/')[0] || r; }
}

export function Overview() {
  const [range, setRange] = useState('24h');
  const [custom, setCustom] = useState({ since: toLocalInput(Date.now() - 86400e3), until: toLocalInput(Date.now()) });
  const [tick, setTick] = useState(0);
  const params = range === 'custom'
    ? { since: String(new Date(custom.since).getTime()), until: String(new Date(custom.until).getTime()) }
    : { since: range };
  const key = JSON.stringify(params);
  const stats = useLoad(() => get<Stats>(`/api/stats${qs(params)}`), [key, tick]);
  const today = useLoad(() => {
    const d = new Date(); d.setHours(0, 0, 0, 0);
    return get<Stats>(`/api/stats${qs({ since: d.getTime(), top: 1 })}`);
  }, [tick]);
  const sources = useLoad(() => get<SourceView[]>('/api/sources'), [tick]);
  const incidents = useLoad(() => get<Page<Incident>>('/api/incidents?open=true&limit=8'), [tick]);
  const [flash, setFlash] = useState<IncidentTouch | null>(null);

  // Live: refetch (at most every 1.5 s) when the stream reports something.
  const pending = useRef<number | null>(null);
  useEffect(() => {
    const bump = () => {
      if (pending.current !== null) return;
      pending.current = window.setTimeout(() => { pending.current = null; setTick((t) => t + 1); }, 1500);
    };
    const offs = [
      subscribe('incident', (d) => { setFlash(d as IncidentTouch); bump(); }),
      subscribe('events', bump), subscribe('block', bump), subscribe('unblock', bump), subscribe('lagged', bump),
    ];
    const iv = window.setInterval(bump, 30e3);
    return () => { offs.forEach((o) => o()); clearInterval(iv); if (pending.current !== null) clearTimeout(pending.current); pending.current = null; };
  }, []);

  const s = stats.data;
  const charts = useMemo(() => (s ? buildCharts(s) : null), [s]);
  const rangeMs = s ? Math.max(s.until_ms - s.since_ms, 60e3) : 1;
  const lastBucket = s?.timeline.length ? s.timeline[s.timeline.length - 1] : null;
  const perMin = s ? (lastBucket && s.bucket_ms <= 3600e3 ? lastBucket.events / (s.bucket_ms / 60e3) : s.events / (rangeMs / 60e3)) : 0;
  const openBySev = Object.fromEntries((s?.open_incidents_by_severity ?? []).map((c) => [c.key, c.count]));
  const openTotal = Object.values(openBySev).reduce((a, b) => a + b, 0);
  const alertsToday = (today.data?.alerts_by_severity ?? []).reduce((a, c) => a + c.count, 0);
  const srcs = sources.data ?? [];
  const healthy = srcs.filter((x) => !x.last_error).length;

  return (
    <div className="page">
      <div className="page-head">
        <h1>Overview</h1>
        <div className="range" role="group" aria-label="Time range">
          <select aria-label="Time range" value={range} onChange={(e) => setRange(e.target.value)}>
            {RANGES.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
            <option value="custom">Custom…</option>
          </select>
          {range === 'custom' && (
            <>
              <label className="inline">From <input type="datetime-local" value={custom.since} onChange={(e) => setCustom({ ...custom, since: e.target.value })} /></label>
              <label className="inline">To <input type="datetime-local" value={custom.until} onChange={(e) => setCustom({ ...custom, until: e.target.value })} /></label>
            </>
          )}
          <button className="btn ghost" onClick={() => setTick((t) => t + 1)} aria-label="Refresh">⟳</button>
        </div>
      </div>
      {flash && (
        <div className="flash" role="status">
          {flash.created ? 'New incident' : 'Incident updated'}: <Link to={`/incidents/${flash.incident_id}`}>#{flash.incident_id} {flash.title}</Link>
          {flash.source_ip && <> from <Link to={`/ips/${encodeURIComponent(flash.source_ip)}`}>{flash.source_ip}</Link></>} <Sev s={flash.severity} />
          <button className="btn ghost small" onClick={() => setFlash(null)} aria-label="Dismiss">×</button>
        </div>
      )}
      <State loading={stats.loading} error={stats.error} empty={!s}>
        <div className="kpis">
          <div className="kpi"><div className="kpi-label">Events / min</div><div className="kpi-value" data-testid="kpi-epm">{perMin < 10 ? perMin.toFixed(1) : num(Math.round(perMin))}</div><div className="kpi-sub">{num(s?.events ?? 0)} in range · {num(s?.stored_events ?? 0)} stored</div></div>
          <div className="kpi"><div className="kpi-label">Open incidents</div><div className="kpi-value" data-testid="kpi-open">{num(openTotal)}</div>
            <div className="kpi-sub sevs">{SEVERITIES.filter((x) => openBySev[x]).map((x) => <span key={x} className={`sev-text-${x}`}>{openBySev[x]} {x}</span>)}{openTotal === 0 && 'none'}</div></div>
          <div className="kpi"><div className="kpi-label">Alerts today</div><div className="kpi-value" data-testid="kpi-alerts">{num(alertsToday)}</div><div className="kpi-sub">{num(s?.flagged_events ?? 0)} flagged events in range</div></div>
          <div className="kpi"><div className="kpi-label">Blocked IPs</div><div className="kpi-value" data-testid="kpi-blocked"><Link to="/blocks">{num(s?.active_blocks ?? 0)}</Link></div><div className="kpi-sub">active now</div></div>
          <div className="kpi"><div className="kpi-label">Sources healthy</div><div className={`kpi-value ${healthy < srcs.length ? 'warn' : ''}`} data-testid="kpi-sources"><Link to="/sources">{healthy}/{srcs.length}</Link></div><div className="kpi-sub">{srcs.length - healthy ? `${srcs.length - healthy} with errors` : 'no errors'}</div></div>
        </div>
        <div className="grid">
          <Card title="Open incidents" className="span2" actions={<Link to="/incidents">All incidents →</Link>}>
            <State loading={incidents.loading} error={incidents.error} empty={!incidents.data?.items.length} emptyText="No open incidents. 🎉">
              <div className="table-wrap"><table className="table compact" data-testid="overview-incidents">
                <thead><tr><th>Severity</th><th>Incident</th><th>Source</th><th>Status</th><th>Last seen</th></tr></thead>
                <tbody>
                  {incidents.data?.items.map((i) => (
                    <tr key={i.id}>
                      <td><Sev s={i.severity} /></td>
                      <td><Link to={`/incidents/${i.id}`}>#{i.id} {i.title}</Link></td>
                      <td>{i.source_ip ? <Link to={`/ips/${encodeURIComponent(i.source_ip)}`}>{i.source_ip}</Link> : i.user ?? '—'}</td>
                      <td><Status s={i.status} /></td>
                      <td title={new Date(i.last_seen_ms).toISOString()}>{ago(i.last_seen_ms)}</td>
                    </tr>
                  ))}
                </tbody>
              </table></div>
            </State>
          </Card>
          {charts && (
            <>
              <Card title="Traffic and alerts" className="span2"><Chart label="Events over time with flagged events" option={charts.timeline} height={260} /></Card>
              <Card title="Alert severity"><Chart label="Alerts by severity" option={charts.severity} /></Card>
              <Card title="Status classes"><Chart label="Responses by status class" option={charts.status} /></Card>
              <Card title="Top attacking IPs"><Chart label="Top attacking IPs" option={charts.attackers} onClickName={(n) => navigate(`/ips/${encodeURIComponent(n)}`)} /></Card>
              <Card title="Attack categories over time"><Chart label="Attack categories over time" option={charts.categories} /></Card>
              <Card title="Top pages"><Chart label="Top requested paths" option={charts.paths} /></Card>
              <Card title="Top referrer domains"><Chart label="Top referrer domains" option={charts.referrers} /></Card>
            </>
          )}
        </div>
        <p className="muted small">Updated <Time ms={s?.generated_ms} /> · bucket {Math.round((s?.bucket_ms ?? 0) / 60e3)} min</p>
      </State>
    </div>
  );
}

function hbar(items: { key: string; count: number }[], color: string, empty: string): Option {
  const top = items.slice(0, 10).reverse();
  if (!top.length) return { title: { text: empty, left: 'center', top: 'middle', textStyle: { color: '#64748b', fontSize: 13, fontWeight: 'normal' } } };
  return {
    grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value', ...AXIS },
    yAxis: { type: 'category', data: top.map((c) => c.key), ...AXIS, axisLabel: { color: '#cbd5e1', formatter: (v: string) => short(v, 28) } },
    tooltip: { trigger: 'item' },
    series: [{ type: 'bar', data: top.map((c) => c.count), itemStyle: { color }, name: 'count' }],
  };
}

function buildCharts(s: Stats) {
  const times = s.timeline.map((p) => p.t_ms);
  const label = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', ...(s.bucket_ms >= 3600e3 ? { day: '2-digit', month: 'short' } : {}) });
  const cats = Array.from(new Set(s.timeline.flatMap((p) => p.categories.map((c) => c.key))));
  const donut = (items: { key: string; count: number }[], colors?: Record<string, string>, empty = 'No data in range'): Option => items.length ? ({
    tooltip: { trigger: 'item' },
    legend: { bottom: 0, textStyle: { color: '#cbd5e1' } },
    series: [{ type: 'pie', radius: ['45%', '70%'], center: ['50%', '45%'], label: { color: '#cbd5e1' },
      data: items.map((c) => ({ name: c.key, value: c.count, itemStyle: colors?.[c.key] ? { color: colors[c.key] } : undefined })) }],
  }) : { title: { text: empty, left: 'center', top: 'middle', textStyle: { color: '#64748b', fontSize: 13, fontWeight: 'normal' } } };
  const sevs = SEVERITIES.map((k) => ({ key: k, count: s.alerts_by_severity.find((c) => c.key === k)?.count ?? 0 })).filter((c) => c.count);
  const refs = new Map<string, number>();
  for (const r of s.top_referrers) { const d = refDomain(r.key); refs.set(d, (refs.get(d) ?? 0) + r.count); }
  return {
    timeline: {
      grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true },
      legend: { top: 0, textStyle: { color: '#cbd5e1' } },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: times.map(label), ...AXIS },
      yAxis: [{ type: 'value', ...AXIS }, { type: 'value', ...AXIS, splitLine: { show: false } }],
      series: [
        { name: 'events', type: 'line', smooth: true, showSymbol: false, areaStyle: { opacity: 0.15 }, data: s.timeline.map((p) => p.events), itemStyle: { color: '#38bdf8' } },
        { name: 'flagged (alerts)', type: 'bar', yAxisIndex: 1, data: s.timeline.map((p) => p.flagged), itemStyle: { color: '#ef4444' }, barMaxWidth: 8,
          markPoint: { symbolSize: 36, data: [{ type: 'max', name: 'peak' }], itemStyle: { color: '#ef4444' }, label: { color: '#fff' } } },
      ],
    } as Option,
    severity: donut(sevs, SEV_COLOR, 'No alerts in range'),
    status: donut(s.by_status_class, { '2xx': '#22c55e', '3xx': '#38bdf8', '4xx': '#eab308', '5xx': '#ef4444', none: '#64748b' }),
    attackers: hbar(s.top_attackers, '#f97316', 'No attackers in range'),
    paths: hbar(s.top_paths, '#38bdf8', 'No requests in range'),
    referrers: hbar([...refs].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count), '#a78bfa', 'No referrers in range'),
    categories: cats.length ? {
      grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true },
      legend: { top: 0, type: 'scroll', textStyle: { color: '#cbd5e1' } },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: times.map(label), ...AXIS },
      yAxis: { type: 'value', ...AXIS },
      series: cats.map((c) => ({ name: c, type: 'bar', stack: 'c', data: s.timeline.map((p) => p.categories.find((x) => x.key === c)?.count ?? 0) })),
    } as Option : { title: { text: 'No attacks in range', left: 'center', top: 'middle', textStyle: { color: '#64748b', fontSize: 13, fontWeight: 'normal' } } } as Option,
  };
}
