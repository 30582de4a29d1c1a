// One function per gateway route the UI uses.
import { qs, request, requestAnyStatus, requestText } from './http';
import type {
  CatalogItem, CatalogPage, Categories, DataReportResponse, Experiment, ExperimentCreate, ExperimentReport, Experiments,
  History, Impressions, Me, ModelActivated, ModelVersions,
  Popular, Readiness, Recommendations, SimilarItems, EventIn, EventsAccepted,
} from './types';

export const login = (login: string, password: string) =>
  request<Me>('/v1/auth/login', { body: { login, password } });
export const logout = () => request<{ ok: boolean }>('/v1/auth/logout', { method: 'POST', body: {} });
export const me = () => request<Me>('/v1/me');

export interface RecParams {
  k?: number;
  explain?: boolean;
  exclude?: readonly number[];
  what_if?: string;
  version?: string;
}
export function recommendationsPath(user: number, p: RecParams = {}): string {
  return `/v1/users/${user}/recommendations${qs({
    k: p.k ?? 12,
    explain: p.explain ? 1 : undefined,
    exclude: p.exclude && p.exclude.length ? p.exclude.slice(0, 100).join(',') : undefined,
    what_if: p.what_if,
    version: p.version,
  })}`;
}
export const recommendations = (user: number, p: RecParams = {}, signal?: AbortSignal) =>
  request<Recommendations>(recommendationsPath(user, p), { signal });

export const history = (user: number, limit = 50, signal?: AbortSignal) =>
  request<History>(`/v1/users/${user}/history${qs({ limit })}`, { signal });
export const popular = (k = 12, category?: string, signal?: AbortSignal) =>
  request<Popular>(`/v1/popular${qs({ k, category })}`, { signal });
export const similar = (item: number, k = 12, signal?: AbortSignal) =>
  request<SimilarItems>(`/v1/items/${item}/similar${qs({ k })}`, { signal });
export const boughtTogether = (item: number, k = 12, signal?: AbortSignal) =>
  request<SimilarItems>(`/v1/items/${item}/bought-together${qs({ k })}`, { signal });
export const item = (id: number, signal?: AbortSignal) => request<CatalogItem>(`/v1/items/${id}`, { signal });
export const items = (
  p: { q?: string; category?: string; page?: number; per_page?: number; sort?: string },
  signal?: AbortSignal,
) => request<CatalogPage>(`/v1/items${qs({ ...p })}`, { signal });
export const categories = (signal?: AbortSignal) => request<Categories>('/v1/categories', { signal });

export const postEvents = (events: EventIn[]) => request<EventsAccepted>('/v1/events', { body: { events } });
export const postImpressions = (body: Impressions) => request<{ accepted: number }>('/v1/impressions', { body });

export const readyz = (signal?: AbortSignal) => requestAnyStatus<Readiness>('/readyz', { signal, timeoutMs: 4000 });
export const metricsText = (signal?: AbortSignal) => requestText('/metrics', { signal, timeoutMs: 4000 });

export const dataReport = (signal?: AbortSignal) => request<DataReportResponse>('/v1/admin/data/report', { signal });
export const models = (signal?: AbortSignal) => request<ModelVersions>('/v1/admin/models', { signal });
export const activate = (version: string) =>
  request<ModelActivated>(`/v1/admin/models/${encodeURIComponent(version)}/activate`, { method: 'POST', body: {} });

export const experiments = (signal?: AbortSignal) => request<Experiments>('/v1/admin/experiments', { signal });
export const createExperiment = (body: ExperimentCreate) => request<Experiment>('/v1/admin/experiments', { body });
export const startExperiment = (id: number) => request<Experiment>(`/v1/admin/experiments/${id}/start`, { method: 'POST', body: {} });
export const stopExperiment = (id: number) => request<Experiment>(`/v1/admin/experiments/${id}/stop`, { method: 'POST', body: {} });
export const experimentReport = (id: number, signal?: AbortSignal) =>
  request<ExperimentReport>(`/v1/admin/experiments/${id}/report`, { signal });
