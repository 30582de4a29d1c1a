// Chart.js, tree-shaken: only the pieces the admin charts use. Loaded on demand by ChartBox.
import {
  Chart, BarController, BarElement, LineController, LineElement, PointElement,
  CategoryScale, LinearScale, Legend, Tooltip,
} from 'chart.js';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Legend, Tooltip);
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
Chart.defaults.font.size = 12;
Chart.defaults.color = '#565f6b';
Chart.defaults.animation = false;

export { Chart };
