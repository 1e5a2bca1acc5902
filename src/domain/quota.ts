// A cloud project's limits against what a plan needs (dry runs, quota_check). Providers compute it;
// the cluster use cases show it or refuse a create on it.
export interface QuotaItem {
  /** instances | cores | ram_mb | floating_ips | security_groups | volumes | volume_gb */
  resource: string;
  need: number;
  /** null: no limit. */
  limit: number | null;
  used: number;
  /** null: no limit. */
  available: number | null;
  short: boolean;
}

export interface QuotaReport {
  ok: boolean;
  items: QuotaItem[];
}
