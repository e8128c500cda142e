/* SPDX-License-Identifier: Apache-2.0 */
/*
 * airlock's state folder ($XDG_STATE_HOME/airlock, else
 * ~/.local/state/airlock): the default audit log and the runs' folders.
 */
#ifndef AIRLOCK_STATE_DIR_H
#define AIRLOCK_STATE_DIR_H

/*
 * Opens airlock's private folder dir, and then sub inside it unless sub
 * is NULL, creating what is missing (mode 0700). The folders above dir
 * are created as needed and may be links (a home folder often is one);
 * dir and sub are not followed when they are links, and each must belong
 * to the caller with no one else allowed to write in it: a folder that
 * someone else controls could swap what airlock writes for a link to any
 * file the caller can write. Returns the last folder's fd (close-on-exec),
 * -EPERM when one is not such a folder, or another -errno. Logs nothing.
 */
int state_dir_open(const char *dir, const char *sub);

/*
 * 0 when the open folder fd belongs to the caller and no one else may
 * write in it, -EPERM when it does not, or -errno when it cannot be
 * checked. Logs nothing.
 */
int state_dir_check(int fd);

#endif
