// A canvas chart that loads Chart.js on first use and updates in place when its data change.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChartConfiguration, Chart as ChartT } from 'chart.js';

type Cfg = ChartConfiguration<'bar' | 'line', (number | null)[], string>;
let lib: Promise<typeof import('./chartjs')> | null = null;
const loadLib = () => (lib ??= import('./chartjs'));

export function ChartBox({ config, label, height = 220, testid }: { config: Cfg; label: string; height?: number; testid?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<ChartT<'bar' | 'line', (number | null)[], string> | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let dead = false;
    loadLib().then(
      ({ Chart }) => {
        if (dead || !canvas.current) return;
        if (chart.current) {
          chart.current.data = config.data;
          if (config.options) chart.current.options = config.options;
          chart.current.update('none');
        } else {
          chart.current = new Chart(canvas.current, config);
        }
      },
      () => setFailed(true),
    );
    return () => {
      dead = true;
    };
  }, [config]);
  useEffect(
    () => () => {
      chart.current?.destroy();
      chart.current = null;
    },
    [],
  );
  return (
    <div class="chartbox" style={{ position: 'relative', height: `${height}px` }} data-testid={testid}>
      <canvas ref={canvas} role="img" aria-label={label} />
      {failed && <p class="banner error">The chart library could not be loaded.</p>}
    </div>
  );
}
