import { useState, type FormEvent } from 'react';

import type { ApiKeyObject, CreatedApiKey } from '@tracetune/contracts';

import { ConfirmButton } from '../components/confirm-button';
import { Page } from '../components/page';
import { Async, Empty } from '../components/states';
import { formatRelative, formatTime } from '../lib/format';
import { useSession } from '../lib/session-context';
import { useResource } from '../lib/use-resource';

function CreateKey({ organizationId, onCreated }: { organizationId: string; onCreated: () => void }) {
  const { client } = useSession();
  const [name, setName] = useState('');
  const [role, setRole] = useState<'member' | 'admin'>('member');
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setCreated(
        await client.createApiKey({
          name: name.trim(),
          role,
          ...(organizationId ? { organization_id: organizationId } : {}),
        }),
      );
      setName('');
      setCopied(false);
      onCreated();
    } catch (caught) {
      setError((caught as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create a key</h2>
      <form className="toolbar" onSubmit={(event) => void submit(event)}>
        <label className="grow">
          Name
          <input
            required
            maxLength={100}
            value={name}
            onChange={(event) => setName(event.target.value)}
            placeholder="alice-laptop"
          />
        </label>
        <label>
          Role
          <select value={role} onChange={(event) => setRole(event.target.value as 'member' | 'admin')}>
            <option value="member">member</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit" className="primary" disabled={busy || !name.trim()}>
          {busy ? 'Creating…' : 'Create key'}
        </button>
      </form>
      {error && (
        <p role="alert" className="inline-error">
          {error}
        </p>
      )}
      {created && (
        <div className="secret" role="status">
          <p>
            <strong>Copy this key now: it is shown only once.</strong> Key “{created.name}” ({created.role},{' '}
            {created.organization_id}):
          </p>
          <div className="row">
            <code className="secret-value" data-testid="new-key">
              {created.key}
            </code>
            <button
              type="button"
              onClick={() => {
                void navigator.clipboard?.writeText(created.key).then(() => setCopied(true));
              }}
            >
              {copied ? 'Copied' : 'Copy'}
            </button>
            <button type="button" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

/** Admins create (secret shown once), list and revoke keys, of their own organization or another one. */
export function ApiKeysPage() {
  const { client, isAdmin, organizationId } = useSession();
  const [organization, setOrganization] = useState(organizationId ?? '');
  const [shownOrganization, setShownOrganization] = useState(organizationId ?? '');
  const keys = useResource(
    (signal) =>
      client.request<{ data: ApiKeyObject[] }>(
        `/admin/api-keys${shownOrganization ? `?organization_id=${encodeURIComponent(shownOrganization)}` : ''}`,
        { signal },
      ),
    [client, shownOrganization],
  );
  if (!isAdmin) {
    return (
      <Page title="API keys">
        <Empty>Only admin keys can manage API keys.</Empty>
      </Page>
    );
  }
  return (
    <Page title="API keys">
      <form
        className="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          setShownOrganization(organization.trim());
        }}
      >
        <label className="grow">
          Organization
          <input
            value={organization}
            onChange={(event) => setOrganization(event.target.value)}
            placeholder="your organization"
          />
        </label>
        <button type="submit">Show keys</button>
      </form>
      <CreateKey organizationId={shownOrganization} onCreated={keys.reload} />
      <Async
        resource={keys}
        what="keys"
        isEmpty={(list) => list.data.length === 0}
        empty="No keys in this organization."
      >
        {(list) => (
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">API keys</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Role</th>
                  <th scope="col">Key</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">State</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((key) => (
                  <tr key={key.id} data-key={key.name}>
                    <td>{key.name}</td>
                    <td>{key.role}</td>
                    <td className="mono nowrap">{key.prefix}…</td>
                    <td className="nowrap">{formatTime(key.created_at)}</td>
                    <td>{formatRelative(key.last_used_at)}</td>
                    <td>
                      {key.revoked_at ? (
                        <span className="badge badge-cancelled">revoked</span>
                      ) : (
                        <span className="badge badge-succeeded">active</span>
                      )}
                    </td>
                    <td>
                      {!key.revoked_at && (
                        <ConfirmButton
                          label={`Revoke`}
                          question={`Revoke “${key.name}”? Clients using it stop working at once.`}
                          confirmLabel="Revoke key"
                          danger
                          onConfirm={async () => {
                            await client.revokeApiKey(key.id, shownOrganization || undefined);
                            keys.reload();
                          }}
                        />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Async>
    </Page>
  );
}
