import { useState } from 'react';
import { api, ApiError, IpView } from '../api';
import { useCan } from '../auth';
import { Link } from '../router';
import { Card, num, Sev, State, Status, Time, useLoad } from '../util';
import { EventTable } from './Events';

export function IpPage({ ip }: { ip: string }) {
  const v = useLoad(() => api<IpView>('GET', `/api/ips/${encodeURIComponent(ip)}`), [ip]);
  const canBlock = useCan('analyst');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const act = async (f: () => Promise<unknown>, ok: string) => {
    setMsg(null);
    try { await f(); setMsg({ ok: true, text: ok }); v.reload(); } catch (e) { setMsg({ ok: false, text: (e as ApiError).message }); }
  };
  const d = v.data;
  return (
    <div className="page">
      <div className="page-head"><h1>IP {ip}</h1>
        {d && <div className="head-badges">{d.blocked ? <span className="badge sev-critical">blocked</span> : <span className="badge">not blocked</span>}{d.allowlisted && <span className="badge st-resolved">allowlisted</span>}</div>}
      </div>
      {msg && <div className={`state ${msg.ok ? 'ok' : 'error'}`} role={msg.ok ? 'status' : 'alert'}>{msg.text}</div>}
      <State loading={v.loading} error={v.error} empty={!d}>
        {d && (
          <>
            {canBlock && (
              <div className="toolbar">
                {d.blocked
                  ? <button className="btn" onClick={() => act(() => api('POST', '/api/unblock', { ip }), `Unblocked ${ip}`)}>Unblock</button>
                  : <button className="btn danger" onClick={() => act(() => api('POST', '/api/blocks', { ip, reason: 'blocked from the IP view', duration: '24h' }), `Blocked ${ip} for 24 h`)}>Block for 24 h</button>}
                <Link to={`/events?ip=${encodeURIComponent(ip)}`} className="btn ghost">Live events of this IP</Link>
              </div>
            )}
            <div className="kpis">
              <div className="kpi"><div className="kpi-label">Events</div><div className="kpi-value">{num(d.summary.events)}</div></div>
              <div className="kpi"><div className="kpi-label">Flagged</div><div className="kpi-value">{num(d.summary.flagged_events)}</div></div>
              <div className="kpi"><div className="kpi-label">First seen</div><div className="kpi-sub"><Time ms={d.summary.first_seen_ms} /></div></div>
              <div className="kpi"><div className="kpi-label">Last seen</div><div className="kpi-sub"><Time ms={d.summary.last_seen_ms} /></div></div>
            </div>
            <div className="grid">
              <Card title="Incidents">
                {d.incidents.length === 0 ? <div className="state empty">No incidents.</div> : (
                  <ul className="plain">{d.incidents.map((i) => <li key={i.id}><Sev s={i.severity} /> <Link to={`/incidents/${i.id}`}>#{i.id} {i.title}</Link> <Status s={i.status} /></li>)}</ul>)}
              </Card>
              <Card title="Blocks">
                {d.blocks.length === 0 ? <div className="state empty">No active block.</div> : (
                  <ul className="plain">{d.blocks.map((b) => <li key={b.id}><code>{b.net}</code> — {b.reason} <span className="muted">by {b.created_by}, {b.expires_ms ? <>until <Time ms={b.expires_ms} /></> : 'until lifted'}</span></li>)}</ul>)}
              </Card>
              <Card title="Alerts" className="span2">
                {d.alerts.length === 0 ? <div className="state empty">No alerts.</div> : (
                  <div className="table-wrap"><table className="table compact"><thead><tr><th>Severity</th><th>Alert</th><th>Source</th><th className="num">Count</th><th>Last seen</th></tr></thead>
                    <tbody>{d.alerts.map((a) => <tr key={a.id}><td><Sev s={a.severity} /></td><td><Link to={`/incidents/${a.incident_id}`}>{a.title}</Link></td><td>{a.source}</td><td className="num">{num(a.count)}</td><td><Time ms={a.last_seen_ms} /></td></tr>)}</tbody></table></div>)}
              </Card>
            </div>
            <Card title="Recent events (attacker timeline)">
              {d.recent_events.length === 0 ? <div className="state empty">No stored events.</div> : <EventTable items={d.recent_events} testid="ip-events" />}
            </Card>
          </>
        )}
      </State>
    </div>
  );
}
