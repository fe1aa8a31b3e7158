import { useEffect, useRef } from 'react';
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, MarkPointComponent, DataZoomComponent, AriaComponent, TitleComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, MarkPointComponent, DataZoomComponent, AriaComponent, TitleComponent, CanvasRenderer]);

export type Option = echarts.EChartsCoreOption;

/**
 * An ECharts canvas. Tooltips are rendered as rich text on the canvas
 * (renderMode 'richText'), never as HTML: chart labels come from log lines,
 * and the CSP forbids inline styles anyway.
 */
export function Chart({ option, height = 260, label, onClickName }: { option: Option; height?: number; label: string; onClickName?: (name: string) => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const click = useRef(onClickName);
  click.current = onClickName;
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    if (!ref.current) return;
    const c = echarts.init(ref.current, 'dark', { renderer: 'canvas' });
    chart.current = c;
    c.on('click', (p) => { const n = (p as { name?: string }).name; if (n && click.current) click.current(n); });
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(ref.current);
    return () => { ro.disconnect(); c.dispose(); chart.current = null; };
  }, []);
  useEffect(() => {
    chart.current?.setOption({
      backgroundColor: 'transparent',
      textStyle: { fontFamily: 'inherit' },
      aria: { enabled: true },
      animationDuration: 300,
      ...option,
      tooltip: { renderMode: 'richText', confine: true, ...(option.tooltip as object ?? {}) },
    }, { notMerge: true });
  }, [option]);
  return <div className="chart" ref={ref} role="img" aria-label={label} data-height={height} style={{ height }} />;
}

/** Cut long attacker-controlled labels (they are drawn as text on the canvas). */
export const short = (s: string, n = 32) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
