// The shapes of the API's answers that both clients read (the CLI and the web console): types
// only, no imports, so that the browser build and the Node build can share them.

/** GET /operations/{id}: an operation with its journal of steps. */
export interface OperationView {
  ID: string;
  ClusterID: string;
  Kind: string;
  Status: string;
  Attempt: number;
  Steps: Array<{ name: string; status: string; attempt?: number; startedAt?: number; finishedAt?: number }>;
  Error: { phase: string; node?: string; service?: string; step?: string; message: string; output?: string } | null;
  CancelRequested: boolean;
  CreatedAt: string;
  StartedAt: string | null;
  FinishedAt: string | null;
}

/** One event of GET /projects/{p}/clusters/{c}/events (the stream's `data:`) or of its list. */
export interface EventView {
  ID: number;
  Time: string;
  Level: string;
  Phase: string;
  Node: string;
  Service: string;
  Message: string;
  OperationID: string;
}
