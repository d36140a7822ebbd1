/*
** The key store: encryption at rest (HIPAA 45 CFR 164.312(a)(2)(iv), GDPR
** Art. 32) and erasure by key destruction (GDPR Art. 17). Each patient's
** personal data is sealed with that patient's own 256-bit data key
** (XChaCha20-Poly1305, libsodium crypto_aead_xchacha20poly1305_ietf);
** resources of no patient use the store's own key (patient ""). Data keys
** live in DIR/keys.db, a SQLite file in a directory outside the data
** directory, each wrapped (XChaCha20-Poly1305 again) by a master key that
** never touches disk beside them: it comes from a file or the environment.
** A backup of the data directory therefore never holds a key, and once a
** patient's key is destroyed nothing sealed with it can be read again, from
** the store or from any earlier backup. Design and limits: docs/SECURITY.md,
** "Encryption at rest".
**
** Conventions as in store.h: err/errlen (may be NULL/0) receive one line;
** 0, or a negative MT_E* code. A vault is shared by every store handle of a
** process and may be used from several threads at once.
*/
#ifndef MEDTWIN_VAULT_H
#define MEDTWIN_VAULT_H

#include <stddef.h>
#include <stdint.h>

#define MT_VAULT_KEY_BYTES 32 /* master and data keys */
#define MT_VAULT_ID_MAX 32    /* hex characters of a vault's id */
/* What sealing adds to n bytes: a version byte, the 24-byte nonce and the
** 16-byte tag. */
#define MT_SEAL_OVERHEAD (1 + 24 + 16)

typedef struct mt_vault mt_vault;

/*
** Master keys. A master key file holds 64 hexadecimal characters (and an
** optional newline), mode 0600. create writes a new random one and refuses
** a path that exists (MT_ECONFLICT); load refuses a file readable by group
** or others (MT_EDENIED) or not of that form (MT_EPARSE).
*/
int mt_vault_master_create(const char *path, char *err, size_t errlen);
int mt_vault_master_load(const char *path,
                         unsigned char mk[MT_VAULT_KEY_BYTES], char *err,
                         size_t errlen);
/*
** The master key from the environment: MEDTWIN_MASTER_KEY_FILE (a file as
** above), else MEDTWIN_MASTER_KEY (64 hex characters). 0 with *found = 1,
** 0 with *found = 0 when neither is set, or the error of a bad value.
*/
int mt_vault_master_env(unsigned char mk[MT_VAULT_KEY_BYTES], int *found,
                        char *err, size_t errlen);

/*
** Open the key store in dir (created 0700 with a new vault id if missing).
** dir must not be data_dir nor inside it (MT_EINVAL; data_dir may be NULL).
** MT_EDENIED when mk is not the key store's master key. On failure *out is
** NULL. Close with mt_vault_close (NULL-safe), after every store handle
** that uses it.
*/
int mt_vault_open(const char *dir, const char *data_dir,
                  const unsigned char mk[MT_VAULT_KEY_BYTES], mt_vault **out,
                  char *err, size_t errlen);
void mt_vault_close(mt_vault *v);
/* The key store's random id (hex), which an encrypted store records. */
const char *mt_vault_id(const mt_vault *v);

/*
** The data key of patient ("" : the store's own key) into key. create = 1
** makes one (durably, before returning) when there is none; create = 0
** gives MT_ENOTFOUND then. Keys are cached unwrapped in memory.
*/
int mt_vault_key(mt_vault *v, const char *patient, int create,
                 unsigned char key[MT_VAULT_KEY_BYTES], char *err,
                 size_t errlen);
/*
** Destroy patient's key: the row is deleted with secure_delete, the
** journal truncated, the cached copy wiped. MT_ENOTFOUND if there was none
** (nothing to do). The store's own key ("") cannot be destroyed
** (MT_EINVAL).
*/
int mt_vault_destroy(mt_vault *v, const char *patient, char *err,
                     size_t errlen);
/* Wrap every key again under new_mk, in one transaction; the vault then
** needs new_mk to open. *n (may be NULL): the keys rewrapped. */
int mt_vault_rotate(mt_vault *v, const unsigned char new_mk[MT_VAULT_KEY_BYTES],
                    long *n, char *err, size_t errlen);
/* How many data keys the store holds (the store's own included). */
int mt_vault_count(mt_vault *v, long *n, char *err, size_t errlen);

/*
** Seal n bytes of in with key, bound to ad (the row they belong to, so that
** a sealed value moved to another row no longer opens): out receives n +
** MT_SEAL_OVERHEAD bytes. Open checks and decrypts a sealed value of n
** bytes into out (n - MT_SEAL_OVERHEAD bytes): MT_EIO when it does not
** authenticate (wrong key, wrong row, or altered), MT_EPARSE when it is not
** a sealed value at all.
*/
void mt_seal(const unsigned char key[MT_VAULT_KEY_BYTES], const void *ad,
             size_t adlen, const void *in, size_t n, unsigned char *out);
int mt_unseal(const unsigned char key[MT_VAULT_KEY_BYTES], const void *ad,
              size_t adlen, const unsigned char *in, size_t n,
              unsigned char *out);

#endif
