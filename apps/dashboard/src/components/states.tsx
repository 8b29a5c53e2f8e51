import type { ReactNode } from 'react';

export function Loading({ what }: { what: string }) {
  return (
    <p className="state state-loading" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorMessage({ error, retry }: { error: Error; retry?: () => void }) {
  return (
    <div className="state state-error" role="alert">
      <p>{error.message}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state state-empty">{children}</p>;
}

/** The three states every data view has, in one place: error first (with retry), then loading, then empty. */
export function Async<T>({
  resource,
  what,
  empty,
  isEmpty,
  children,
}: {
  resource: { data: T | undefined; error: Error | null; loading: boolean; reload(): void };
  what: string;
  empty?: ReactNode;
  isEmpty?: (data: T) => boolean;
  children: (data: T) => ReactNode;
}) {
  if (resource.error && resource.data === undefined)
    return <ErrorMessage error={resource.error} retry={resource.reload} />;
  if (resource.data === undefined) return <Loading what={what} />;
  if (empty && isEmpty?.(resource.data)) return <Empty>{empty}</Empty>;
  return (
    <>
      {resource.error && (
        <p className="stale-note" role="status">
          Showing the last data: {resource.error.message}
        </p>
      )}
      {children(resource.data)}
    </>
  );
}
