import { useCallback, useEffect, useMemo, useState } from 'react';

import { ApiError, TracetuneClient } from './lib/api';
import { Link, matchPath, Router, useRouter } from './lib/router';
import { forgetKey, storedKey, storeKey } from './lib/session';
import { SessionContext, type Session } from './lib/session-context';
import { ApiKeysPage } from './pages/api-keys';
import { ComparePage } from './pages/compare';
import { DataPage } from './pages/data';
import { GradersPage } from './pages/graders';
import { ModelsPage } from './pages/models';
import { PlaygroundPage } from './pages/playground';
import { RunDetailPage } from './pages/run-detail/run-detail';
import { RunsPage } from './pages/runs';
import { SignInPage } from './pages/sign-in';

/** Checks a key with one cheap request and learns its role: only admin keys may list /admin/api-keys. */
async function openSession(
  key: string,
  onUnauthorized: (message: string) => void,
): Promise<Omit<Session, 'signOut'>> {
  const probe = new TracetuneClient(key);
  await probe.listModels();
  const client = new TracetuneClient(key, onUnauthorized);
  try {
    const keys = await probe.listApiKeys();
    const mine = keys.data.find((k) => key.startsWith(k.prefix));
    return {
      client,
      isAdmin: true,
      keyName: mine?.name ?? null,
      organizationId: mine?.organization_id ?? null,
    };
  } catch (error) {
    if (error instanceof ApiError && error.status === 403)
      return { client, isAdmin: false, keyName: null, organizationId: null };
    throw error;
  }
}

const NAV = [
  { to: '/runs', label: 'Runs' },
  { to: '/compare', label: 'Compare' },
  { to: '/data', label: 'Data' },
  { to: '/graders', label: 'Graders' },
  { to: '/models', label: 'Models' },
  { to: '/playground', label: 'Playground' },
];

function Routes() {
  const { location } = useRouter();
  const path = location.path;
  const run = matchPath('/runs/:id', path);
  if (run) return <RunDetailPage id={run['id']} />;
  if (path === '/' || path === '/runs') return <RunsPage />;
  if (path === '/compare') return <ComparePage />;
  if (path === '/data') return <DataPage />;
  if (path === '/graders') return <GradersPage />;
  if (path === '/models') return <ModelsPage />;
  if (path === '/playground') return <PlaygroundPage />;
  if (path === '/keys') return <ApiKeysPage />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        Nothing lives at {path}. <Link to="/runs">Go to the runs</Link>.
      </p>
    </section>
  );
}

function Shell({ session }: { session: Session }) {
  const { location } = useRouter();
  const nav = session.isAdmin ? [...NAV, { to: '/keys', label: 'API keys' }] : NAV;
  const section = '/' + (location.path.split('/')[1] || 'runs');
  return (
    <SessionContext.Provider value={session}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top-bar">
        <Link to="/runs" className="brand">
          Tracetune
        </Link>
        <nav aria-label="Main">
          <ul>
            {nav.map((item) => (
              <li key={item.to}>
                <Link to={item.to} aria-current={section === item.to ? 'page' : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span className="muted">
            {session.keyName ?? (session.isAdmin ? 'admin key' : 'member key')}
            {session.organizationId ? ` · ${session.organizationId}` : ''}
          </span>
          <button type="button" onClick={session.signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <Routes />
      </main>
    </SessionContext.Provider>
  );
}

export function App() {
  const [session, setSession] = useState<Omit<Session, 'signOut'> | null>(null);
  const [restoring, setRestoring] = useState(() => storedKey() !== null);
  const [notice, setNotice] = useState<string | null>(null);

  const expire = useCallback((message: string) => {
    forgetKey();
    setSession(null);
    setNotice(`Your API key stopped working: ${message.replace(/\.?$/, '.')} Sign in again.`);
  }, []);

  const signIn = useCallback(
    async (key: string) => {
      try {
        const opened = await openSession(key, expire);
        storeKey(key);
        setNotice(null);
        setSession(opened);
      } catch (error) {
        if (error instanceof ApiError && error.status === 401)
          throw new Error(`That key was refused: ${error.message}`);
        throw error;
      }
    },
    [expire],
  );

  // A reload of the tab keeps the key (sessionStorage): check it again before showing data.
  useEffect(() => {
    const key = storedKey();
    if (!key) return;
    signIn(key)
      .catch((error: Error) => {
        forgetKey();
        setNotice(error.message);
      })
      .finally(() => setRestoring(false));
  }, [signIn]);

  const signOut = useCallback(() => {
    forgetKey();
    setSession(null);
    setNotice('Signed out.');
  }, []);
  const value = useMemo(() => (session ? { ...session, signOut } : null), [session, signOut]);

  if (restoring && !value) {
    return (
      <main className="sign-in" id="main">
        <p role="status">Signing in…</p>
      </main>
    );
  }
  if (!value) return <SignInPage notice={notice} onSignIn={signIn} />;
  return (
    <Router>
      <Shell session={value} />
    </Router>
  );
}
