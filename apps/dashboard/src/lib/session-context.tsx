import { createContext, useContext } from 'react';

import type { TracetuneClient } from './api';

export interface Session {
  client: TracetuneClient;
  /** Admin keys may manage keys; the API keys page is shown to them only. */
  isAdmin: boolean;
  /** The signed-in key as the server lists it (admins only: members cannot list keys). */
  keyName: string | null;
  organizationId: string | null;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in session');
  return session;
}
