import { store, useStore } from '../state/store';

export interface ToastMsg {
  id: number;
  text: string;
  action?: { label: string; run: () => void };
}
export const toast = store<ToastMsg | null>(null);
let next = 1;
let timer: ReturnType<typeof setTimeout> | undefined;

export function showToast(text: string, action?: ToastMsg['action'], ms = 8000): void {
  clearTimeout(timer);
  const id = next++;
  toast.set({ id, text, ...(action ? { action } : {}) });
  timer = setTimeout(() => {
    if (toast.get()?.id === id) toast.set(null);
  }, ms);
}

export function Toast() {
  const t = useStore(toast);
  if (!t) return null;
  return (
    <div class="toast" role="status" aria-live="polite" data-testid="toast">
      <span>{t.text}</span>
      {t.action && (
        <button
          type="button"
          onClick={() => {
            t.action!.run();
          }}
        >
          {t.action.label}
        </button>
      )}
      <button type="button" aria-label="Close message" onClick={() => toast.set(null)}>
        ×
      </button>
    </div>
  );
}
