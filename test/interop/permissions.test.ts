/**
 * The bridge's permission reader against real Django's `user.get_all_permissions()` (Django's
 * ModelBackend), for users holding permissions directly, through groups, as superusers, and
 * inactive; then after grants and revocations made through Django.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { overClients } from '../../src/django/database.ts'
import { createPermissionReader, type PermissionReader } from '../../src/django/permissions.ts'
import { djangoDatabase, runDjangoBatch, type DjangoDatabase } from '../helpers/django.ts'
import type { CreateUserReply, PermissionsReply } from '../helpers/djangoctl.ts'

describe('permissions as ModelBackend computes them', () => {
  let db: DjangoDatabase
  let reader: PermissionReader
  const ids = new Map<string, string>()

  before(async () => {
    db = await djangoDatabase()
    reader = createPermissionReader(overClients([db.sql]), db.config.users)
    const made = await runDjangoBatch<CreateUserReply[]>(
      [
        { cmd: 'create_user', username: 'direct', password: 'pw' },
        { cmd: 'create_user', username: 'grouped', password: 'pw', groups: ['support', 'ops'] },
        { cmd: 'create_user', username: 'both', password: 'pw', groups: ['support'] },
        { cmd: 'create_user', username: 'root', password: 'pw', is_superuser: true },
        {
          cmd: 'create_user',
          username: 'sleeper',
          password: 'pw',
          is_active: false,
          groups: ['support'],
        },
        {
          cmd: 'create_user',
          username: 'root-off',
          password: 'pw',
          is_superuser: true,
          is_active: false,
        },
        { cmd: 'create_user', username: 'nobody', password: 'pw' },
        { cmd: 'grant_permission', username: 'direct', permission: 'auth.view_user' },
        { cmd: 'grant_permission', username: 'direct', permission: 'sessions.view_session' },
        { cmd: 'grant_permission', group: 'support', permission: 'auth.change_user' },
        { cmd: 'grant_permission', group: 'support', permission: 'auth.view_user' },
        { cmd: 'grant_permission', group: 'ops', permission: 'contenttypes.view_contenttype' },
        { cmd: 'grant_permission', username: 'both', permission: 'auth.view_user' },
        { cmd: 'grant_permission', username: 'both', permission: 'auth.add_group' },
        { cmd: 'grant_permission', username: 'sleeper', permission: 'auth.add_user' },
      ],
      db.env,
    )
    const names = ['direct', 'grouped', 'both', 'root', 'sleeper', 'root-off', 'nobody']
    names.forEach((name, i) => ids.set(name, (made[i] as CreateUserReply).id))
  })
  after(() => db.cleanup())

  const id = (name: string) => {
    const v = ids.get(name)
    assert.ok(v !== undefined, name)
    return v
  }

  async function djangoSays(names: readonly string[]): Promise<string[][]> {
    const replies = await runDjangoBatch<PermissionsReply[]>(
      names.map((username) => ({ cmd: 'permissions', username })),
      db.env,
    )
    return replies.map((r) => r.permissions)
  }

  const ALL = ['direct', 'grouped', 'both', 'root', 'sleeper', 'root-off', 'nobody']

  test('all() is get_all_permissions() for each kind of user', async () => {
    const expected = await djangoSays(ALL)
    for (const [i, name] of ALL.entries()) {
      const ours = [...(await reader.all(id(name)))].sort()
      assert.deepEqual(ours, expected[i], name)
    }
    // The cases the comparison must cover, so it cannot pass on empty sets alone.
    const by = new Map(ALL.map((n, i) => [n, expected[i] ?? []]))
    assert.deepEqual(by.get('direct'), ['auth.view_user', 'sessions.view_session'])
    assert.deepEqual(by.get('grouped'), [
      'auth.change_user',
      'auth.view_user',
      'contenttypes.view_contenttype',
    ])
    assert.ok((by.get('root')?.length ?? 0) >= 16, 'a superuser holds every permission')
    assert.deepEqual(by.get('sleeper'), [], 'inactive: none, whatever is granted')
    assert.deepEqual(by.get('root-off'), [], 'an inactive superuser holds none')
  })

  test('held() answers has_perm for each asked permission', async () => {
    const among = ['auth.view_user', 'auth.add_group', 'orders.view_order', 'auth.delete_user']
    assert.deepEqual([...(await reader.held(id('both'), among))].sort(), [
      'auth.add_group',
      'auth.view_user',
    ])
    assert.deepEqual([...(await reader.held(id('root'), among))].sort(), [
      'auth.add_group',
      'auth.delete_user',
      'auth.view_user',
    ])
    assert.deepEqual([...(await reader.held(id('sleeper'), among))], [])
    assert.deepEqual([...(await reader.held('999999', among))], [], 'no such user')
    assert.deepEqual([...(await reader.held('not-a-pk', among))], [], 'a pk Django would refuse')
  })

  test('grants and revocations made in Django show at the next read', async () => {
    await runDjangoBatch(
      [
        { cmd: 'revoke_permission', group: 'support', permission: 'auth.change_user' },
        { cmd: 'revoke_permission', username: 'direct', permission: 'auth.view_user' },
        { cmd: 'grant_permission', username: 'nobody', permission: 'auth.view_group' },
        { cmd: 'set_groups', username: 'grouped', groups: ['ops'] },
        { cmd: 'set_flags', username: 'root', is_superuser: false },
        { cmd: 'set_flags', username: 'sleeper', is_active: true },
      ],
      db.env,
    )
    const expected = await djangoSays(ALL)
    for (const [i, name] of ALL.entries()) {
      assert.deepEqual([...(await reader.all(id(name)))].sort(), expected[i], name)
    }
    assert.deepEqual(expected[ALL.indexOf('grouped')], ['contenttypes.view_contenttype'])
    assert.deepEqual(expected[ALL.indexOf('root')], [])
    assert.deepEqual(expected[ALL.indexOf('sleeper')], ['auth.add_user', 'auth.view_user'])
  })
})
