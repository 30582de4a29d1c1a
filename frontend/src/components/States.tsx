import { describeError } from '../api/http';

export function SkeletonCards({ n = 6, label = 'Loading' }: { n?: number; label?: string }) {
  return (
    <ul class="cards skeleton" aria-busy="true" aria-label={label}>
      {Array.from({ length: n }, (_, i) => (
        <li key={i}>
          <div class="card" aria-hidden="true">
            <div class="card-link">
              <div class="sk pic" />
              <div class="sk line" />
              <div class="sk line" style={{ width: '60%' }} />
            </div>
          </div>
        </li>
      ))}
    </ul>
  );
}

export function ErrorBox({ error, onRetry, what }: { error: unknown; onRetry?: () => void; what?: string }) {
  return (
    <div class="errorbox" role="alert" data-testid="error">
      <span>
        {what ? `${what}: ` : ''}
        {describeError(error)}
      </span>
      {onRetry && (
        <button type="button" class="btn small" onClick={onRetry} data-testid="retry">
          Retry
        </button>
      )}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="muted" aria-busy="true" role="status">
      {label}
    </p>
  );
}

/** A horizontally scrollable table area that keyboard users can focus and scroll. */
export function TableWrap({ label, children }: { label: string; children: preact.ComponentChildren }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={label}>
      {children}
    </div>
  );
}
