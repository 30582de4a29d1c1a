// The pages that load as chunks of their own, on first use (the inspector is also prefetched when
// the browser is idle): they and Chart.js stay out of the initial JavaScript.
import { lazyPage } from '../lazy';

export const Inspector = lazyPage<{ userId: number }>(() => import('../inspector/InspectorPage').then((m) => m.InspectorPage));
export const Models = lazyPage<object>(() => import('../admin/ModelsPage').then((m) => m.ModelsPage));
export const Health = lazyPage<object>(() => import('../admin/HealthPage').then((m) => m.HealthPage));
export const Data = lazyPage<object>(() => import('../admin/DataPage').then((m) => m.DataPage));
export const Experiments = lazyPage<object>(() => import('../admin/ExperimentsPage').then((m) => m.ExperimentsPage));
