// SPDX-License-Identifier: GPL-2.0
/*
 * Users and quotas: every peer is charged to the user that opened it, and
 * resources a sender consumes on a receiver are charged to the receiver
 * and the receiver's user.
 */

#include <linux/err.h>
#include <linux/kref.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>
#include <linux/xarray.h>
#include "user.h"

unsigned int bus1_user_slices_max = 16384;
unsigned int bus1_user_handles_max = 65536;
unsigned int bus1_user_inflight_bytes_max = 16 * 1024 * 1024;
unsigned int bus1_user_inflight_fds_max = 4096;

static DEFINE_XARRAY(bus1_users);

static void bus1_user_free(struct kref *ref)
{
	struct bus1_user *user = container_of(ref, struct bus1_user, ref);
	int i;

	for (i = 0; i < BUS1_RES_N; ++i)
		WARN_ON(user->quota.used[i]);
	kfree(user);
}

/**
 * bus1_user_ref_by_uid() - find or create the record of a user
 * @uid:	kernel uid
 *
 * Return: a new reference to the record, or ERR_PTR(-ENOMEM).
 */
struct bus1_user *bus1_user_ref_by_uid(kuid_t uid)
{
	unsigned long index = __kuid_val(uid);
	struct bus1_user *user, *old;

	xa_lock(&bus1_users);
	user = xa_load(&bus1_users, index);
	if (user && kref_get_unless_zero(&user->ref)) {
		xa_unlock(&bus1_users);
		return user;
	}
	xa_unlock(&bus1_users);

	user = kzalloc(sizeof(*user), GFP_KERNEL_ACCOUNT);
	if (!user)
		return ERR_PTR(-ENOMEM);
	kref_init(&user->ref);
	user->uid = uid;
	spin_lock_init(&user->lock);
	user->quota.max[BUS1_RES_SLICES] = bus1_user_slices_max;
	user->quota.max[BUS1_RES_HANDLES] = bus1_user_handles_max;
	user->quota.max[BUS1_RES_BYTES] = bus1_user_inflight_bytes_max;
	user->quota.max[BUS1_RES_FDS] = bus1_user_inflight_fds_max;

	xa_lock(&bus1_users);
	old = xa_load(&bus1_users, index);
	if (old && kref_get_unless_zero(&old->ref)) {
		xa_unlock(&bus1_users);
		kfree(user);
		return old;
	}
	/* a dying record may still be stored: replace it */
	old = __xa_store(&bus1_users, index, user, GFP_ATOMIC);
	xa_unlock(&bus1_users);
	if (xa_is_err(old)) {
		kfree(user);
		return ERR_PTR(-ENOMEM);
	}
	return user;
}

static void bus1_user_release(struct kref *ref)
	__releases(&bus1_users.xa_lock)
{
	struct bus1_user *user = container_of(ref, struct bus1_user, ref);

	__xa_cmpxchg(&bus1_users, __kuid_val(user->uid), user, NULL, 0);
	xa_unlock(&bus1_users);
	bus1_user_free(ref);
}

/**
 * bus1_user_unref() - drop a reference to a user record
 * @user:	record to drop, or NULL
 */
void bus1_user_unref(struct bus1_user *user)
{
	if (user)
		kref_put_lock(&user->ref, bus1_user_release,
			      &bus1_users.xa_lock);
}

static bool bus1_quota_fits(struct bus1_quota *quota, const u64 *charge)
{
	int i;

	for (i = 0; i < BUS1_RES_N; ++i)
		if (charge[i] && quota->used[i] + charge[i] > quota->max[i])
			return false;
	return true;
}

/**
 * bus1_quota_charge() - charge resources to a peer and its user
 * @peer:	quota of the peer, caller holds the peer's data lock
 * @user:	user of the peer
 * @charge:	amount per resource
 *
 * Return: 0 on success, -EDQUOT if a limit of the peer or the user would be
 * exceeded (nothing is charged then).
 */
int bus1_quota_charge(struct bus1_quota *peer, struct bus1_user *user,
		      const u64 *charge)
{
	int i, r = 0;

	spin_lock(&user->lock);
	if (!bus1_quota_fits(&user->quota, charge) ||
	    !bus1_quota_fits(peer, charge)) {
		r = -EDQUOT;
	} else {
		for (i = 0; i < BUS1_RES_N; ++i) {
			user->quota.used[i] += charge[i];
			peer->used[i] += charge[i];
		}
	}
	spin_unlock(&user->lock);
	return r;
}

/**
 * bus1_quota_discharge() - return resources charged by bus1_quota_charge()
 * @peer:	quota of the peer, caller holds the peer's data lock
 * @user:	user of the peer
 * @charge:	amount per resource
 */
void bus1_quota_discharge(struct bus1_quota *peer, struct bus1_user *user,
			  const u64 *charge)
{
	int i;

	spin_lock(&user->lock);
	for (i = 0; i < BUS1_RES_N; ++i) {
		WARN_ON(user->quota.used[i] < charge[i] ||
			peer->used[i] < charge[i]);
		user->quota.used[i] -= charge[i];
		peer->used[i] -= charge[i];
	}
	spin_unlock(&user->lock);
}

/**
 * bus1_users_exit() - tear down the user table at module unload
 */
void bus1_users_exit(void)
{
	WARN_ON(!xa_empty(&bus1_users));
	xa_destroy(&bus1_users);
}
