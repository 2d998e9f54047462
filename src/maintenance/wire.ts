/**
 * Armada's extensions to the Maintenance wire protocol, invisible to Regatta's tools.
 */

/** Trailing metadata of `Maintenance/Backup` carrying the applied index of the backup's point-in-time view. */
export const BACKUP_INDEX_METADATA = "armada-backup-index";
