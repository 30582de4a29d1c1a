// API types. Generated from docs/openapi.yaml (`npm run gen` -> src/generated/api.d.ts) where the
// spec has the schema; the routes of the web UI contract (notes/contract.md) that are not in the
// spec yet are typed here by hand and switch to the generated schema by name once it lands
// (`FromSpec<'Name', Fallback>`), so tsc fails as soon as UI and spec disagree.
import type { components } from '../generated/api';

type Schemas = components['schemas'];
type FromSpec<N extends string, Fallback> = N extends keyof Schemas ? Schemas[N] : Fallback;

export type SourceScore = Schemas['SourceScore'];
export type RecItem = Schemas['Item'];
export type SimilarItems = Schemas['SimilarItems'];
export type Popular = Schemas['Popular'];
export type Readiness = Schemas['Readiness'];
export type DownstreamState = Schemas['DownstreamState'];
export type ModelActivated = Schemas['ModelActivated'];
export type DataReportResponse = Schemas['DataReportResponse'];
export type DataReport = Schemas['DataReport'];
export type Distribution = Schemas['Distribution'];
export type EventIn = Schemas['Event'] & { position?: number };
export type EventsAccepted = Schemas['EventsAccepted'];

export type Role = 'customer' | 'admin';
export type Me = FromSpec<'Me', { user_id: number; login: string; display_name: string; role: Role; expires_at: number }>;

export type CatalogItem = FromSpec<
  'CatalogItem',
  {
    item_id: number;
    title: string;
    category: string;
    brand: string;
    price: number | null;
    available: boolean;
    attributes: Record<string, unknown>;
    created_at: string;
    updated_at: string;
  }
>;
export type CatalogPage = FromSpec<'ItemPage', { items: CatalogItem[]; page: number; per_page: number; total: number }>;
export type Categories = FromSpec<'Categories', { categories: { path: string; items: number }[] }>;

export type HistoryEvent = { item_id: number; type: string; ts_ms: number; value?: number; title: string; category: string; price: number | null };
export type History = FromSpec<'History', { user_id: number; events: HistoryEvent[] }>;

export type Impressions = FromSpec<'Impressions', {
  rec_id?: string;
  user_id: number;
  model_version?: string;
  variant?: string;
  surface?: string;
  items: { item_id: number; position: number }[];
}>;

// ---- explain (contract additions; existing fields as in the spec) ----
export type Hop = { name: string; start_ms: number; ms: number; ok: boolean; error?: string };
export type FeatureContribution = { name: string; label: string; value: number; contribution: number };
export type RankedItem = {
  item_id: number;
  score: number;
  features: FeatureContribution[] | Record<string, number>;
};
export type ExplainFeature = {
  called: boolean;
  ok: boolean;
  ms: number;
  error?: string;
  known_user?: boolean;
  total_events?: number;
  embedding_dim?: number;
  embedding_norm?: number;
  nearest?: { item_id: number; score: number }[];
  recent?: { item_id: number; type: string; ts_ms: number; value: number }[];
};
export type ExplainCandidate = {
  called: boolean;
  ok: boolean;
  ms: number;
  error?: string;
  source?: string;
  cache_age_ms?: number;
  requested_k?: number;
  candidates?: { item_id: number; score: number; sources: SourceScore[] }[];
  source_stats?: { source: string; count: number; top: number; low: number }[];
  filtered?: { reason: string; count: number; items: number[] }[];
};
export type ExplainRanking = {
  called: boolean;
  ok: boolean;
  ms: number;
  error?: string;
  ranker?: string;
  base_score?: number;
  contributions?: 'exact' | 'approximate';
  items?: RankedItem[];
};
export type ExplainContract = {
  deadline_ms?: number;
  feature: ExplainFeature;
  candidate: ExplainCandidate;
  ranking: ExplainRanking;
  hops?: Hop[];
  catalog?: Record<string, { title: string; category: string; price: number | null }>;
};

export type Recommendations = FromSpecRecs;
type SpecRecs = Schemas['Recommendations'];
export type Explain = NonNullable<Recommendations['explain']>;
type FromSpecRecs = 'hops' extends keyof NonNullable<SpecRecs['explain']>
  ? SpecRecs
  : Omit<SpecRecs, 'explain'> & { explain?: ExplainContract; what_if?: { type: string; item_id: number }[] };

export type ModelRun = NonNullable<
  FromSpec<
    'TrainingRun',
    {
      run_id: string;
      status: 'running' | 'finished' | 'failed';
      started_at: string;
      finished_at: string | null;
      durations: Record<string, unknown>;
      data_fingerprint: string | null;
      metrics: Record<string, unknown>;
      params: Record<string, unknown>;
    }
  >
>;
export type ModelVersion = Omit<Schemas['ModelVersion'], 'run'> & { run?: ModelRun | null };
export type ModelVersions = Omit<Schemas['ModelVersions'], 'models'> & { models: ModelVersion[] };

// ---- experiments (admin) ----
export type Experiment = Schemas['Experiment'];
export type Experiments = Schemas['Experiments'];
export type ExperimentCreate = Schemas['ExperimentCreate'];
export type ExperimentReport = Schemas['ExperimentReport'];
export type KpiRow = Schemas['KpiRow'];
export type Estimate = Schemas['Estimate'];
