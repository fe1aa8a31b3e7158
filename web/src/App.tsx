import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, Me, setCsrf, setUnauthorizedHandler, User } from './api';
import { AuthContext } from './auth';
import { Link, match, navigate, useLocation } from './router';
import { closeStream, onStatus, openStream, streamStatus } from './stream';
import { Login } from './pages/Login';
import { Overview } from './pages/Overview';
import { Incidents } from './pages/Incidents';
import { IncidentPage } from './pages/IncidentDetail';
import { LiveEvents } from './pages/Events';
import { IpPage } from './pages/IpView';
import { Blocks } from './pages/Blocks';
import { Analyze } from './pages/Analyze';
import { Sources } from './pages/Sources';
import { Admin } from './pages/Admin';
import { Placeholder } from './pages/Placeholder';
import { Reports } from './pages/Reports';
import { ReportPage } from './pages/ReportDetail';
import { Settings } from './pages/Settings';
import { onOutbox, problems, refreshOutbox } from './outbox';

const NAV: [string, string][] = [
  ['/', 'Overview'],
  ['/incidents', 'Incidents'],
  ['/events', 'Live events'],
  ['/blocks', 'Blocked IPs'],
  ['/analyze', 'Analyze'],
  ['/sources', 'Sources'],
  ['/reports', 'Reports'],
  ['/settings', 'Settings'],
];

export function App() {
  const [user, setUser] = useState<User | null>(null);
  const [checked, setChecked] = useState(false);
  const [menu, setMenu] = useState(false);
  const [live, setLive] = useState(streamStatus);
  const [undelivered, setUndelivered] = useState(0);
  const { path } = useLocation();

  useEffect(() => {
    setUnauthorizedHandler(() => { setUser(null); setCsrf(null); closeStream(); });
    api<Me>('GET', '/api/auth/me')
      .then((me) => { setCsrf(me.csrf_token); setUser(me.user); })
      .catch((e: ApiError) => { if (e.status !== 401) console.warn(e.message); })
      .finally(() => setChecked(true));
  }, []);
  useEffect(() => {
    if (!user) return;
    openStream();
    return onStatus(setLive);
  }, [user]);
  useEffect(() => { setMenu(false); }, [path]);
  // Failing notification delivery shows as a badge on Settings (checked every 30 s).
  useEffect(() => {
    if (!user) return;
    const off = onOutbox((n) => setUndelivered(problems(n)));
    refreshOutbox();
    const iv = window.setInterval(refreshOutbox, 30e3);
    return () => { off(); clearInterval(iv); };
  }, [user]);

  const logout = useCallback(() => {
    api('POST', '/api/auth/logout').catch(() => {}).finally(() => {
      setCsrf(null); setUser(null); closeStream(); navigate('/', true);
    });
  }, []);

  if (!checked) return <div className="state loading boot" aria-busy="true">Loading…</div>;
  if (!user) return <Login onLogin={(me) => { setCsrf(me.csrf_token); setUser(me.user); }} />;

  const isAdmin = user.role === 'admin';
  const nav = isAdmin ? [...NAV.slice(0, 6), ['/admin', 'Admin'] as [string, string], ...NAV.slice(6)] : NAV;
  const active = (to: string) => (to === '/' ? path === '/' : path === to || path.startsWith(`${to}/`));

  let page;
  let m;
  if (path === '/') page = <Overview />;
  else if (path === '/incidents') page = <Incidents />;
  else if ((m = match('/incidents/:id', path))) page = <IncidentPage key={m.id} id={m.id} />;
  else if (path === '/events') page = <LiveEvents />;
  else if ((m = match('/ips/:ip', path))) page = <IpPage key={m.ip} ip={m.ip} />;
  else if (path === '/blocks') page = <Blocks />;
  else if (path === '/analyze') page = <Analyze />;
  else if (path === '/sources') page = <Sources />;
  else if (path === '/admin' && isAdmin) page = <Admin />;
  else if (path === '/reports') page = <Reports />;
  else if ((m = match('/reports/:id', path))) page = <ReportPage key={m.id} id={m.id} />;
  else if (path === '/settings') page = <Settings />;
  else page = <Placeholder title="Not found" text="There is no page at this address." />;

  return (
    <AuthContext.Provider value={{ user, logout }}>
      <a className="skip" href="#main">Skip to content</a>
      <div className="layout">
        <header className="topbar">
          <button className="menu-btn" aria-expanded={menu} aria-controls="nav" onClick={() => setMenu(!menu)}>☰<span className="sr">Menu</span></button>
          <Link to="/" className="brand">secmo</Link>
          <span className={`live-dot ${live}`} title={`Live stream: ${live}`}>{live === 'live' ? 'live' : live}</span>
          <div className="spacer" />
          <span className="who" data-testid="whoami"><span className="user-name">{user.name}</span> <span className={`badge role-${user.role}`}>{user.role}</span></span>
          <button className="btn ghost" onClick={logout}>Log out</button>
        </header>
        <nav id="nav" className={`sidebar ${menu ? 'open' : ''}`} aria-label="Main">
          <ul>
            {nav.map(([to, label]) => (
              <li key={to}><Link to={to} aria-current={active(to) ? 'page' : undefined}>{label}
                {to === '/settings' && undelivered > 0 && <span className="badge nav-alert" data-testid="nav-delivery-alert" title="Notifications are failing: see Settings">
                  {undelivered}<span className="sr"> undelivered notifications</span></span>}</Link></li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>{page}</main>
      </div>
    </AuthContext.Provider>
  );
}
