import { useEffect } from 'react';
import { get, SourceView } from '../api';
import { Card, num, State, Time, useLoad } from '../util';

export function Sources() {
  const s = useLoad(() => get<SourceView[]>('/api/sources'), []);
  useEffect(() => { const iv = setInterval(s.reload, 5000); return () => clearInterval(iv); }, []);
  return (
    <div className="page">
      <div className="page-head"><h1>Sources</h1></div>
      <State loading={s.loading} error={s.error} empty={!s.data?.length} emptyText="No watched sources. Add [[source]] entries to the configuration.">
        <div className="table-wrap">
          <table className="table" data-testid="sources-table">
            <thead><tr><th>Health</th><th>Source</th><th>Format</th><th>Files</th><th className="num">Lines/s</th><th className="num">Lines</th><th className="num">Events</th><th className="num">Parse errors</th><th className="num">Lag</th><th>Last line</th><th>Last error</th></tr></thead>
            <tbody>{s.data?.map((x) => (
              <tr key={x.name}>
                <td>{x.last_error ? <span className="badge sev-high">error</span> : <span className="badge st-resolved">ok</span>}</td>
                <td><strong>{x.name}</strong><div className="muted small">{x.patterns.join(', ')}</div></td>
                <td>{x.format ?? 'auto'}</td>
                <td>{x.files.length}</td>
                <td className="num">{x.lines_per_sec.toFixed(1)}</td>
                <td className="num">{num(x.lines)}</td>
                <td className="num">{num(x.events)}</td>
                <td className="num">{num(x.unparsed)}</td>
                <td className="num">{num(x.lag_bytes)} B</td>
                <td><Time ms={x.last_line_ms} /></td>
                <td className="clip wide" title={x.last_error ?? ''}>{x.last_error ?? <span className="muted">—</span>}</td>
              </tr>))}</tbody>
          </table>
        </div>
        {s.data?.some((x) => x.unparsed_samples.length) && (
          <Card title="Recent unparsed lines">
            <ul className="plain">{s.data.flatMap((x) => x.unparsed_samples.map((u, i) => <li key={`${x.name}${i}`}><span className="muted">{x.name}</span> <pre className="raw">{JSON.stringify(u)}</pre></li>))}</ul>
          </Card>
        )}
      </State>
    </div>
  );
}
