/**
 * The Cluster service (spec §7): MemberList and Status.
 */
import type { armada } from "../proto/index.js";
import type { Engine } from "../engine/engine.js";
import type { Handler } from "./bind.js";
import { toProtobufStruct } from "./struct.js";

/** What this node says about itself. */
export interface NodeIdentity {
  readonly nodeId: number;
  readonly nodeName: string;
  readonly clusterName: string;
  readonly raftAddress: string;
  readonly advertiseAddress: string;
  readonly version: string;
  /** The effective configuration as Status renders it (secrets already masked). */
  readonly renderedConfig: () => Record<string, unknown>;
  /** Live members of the cluster, this node included. */
  readonly members: () => readonly { id: number; name: string; raftAddress: string; apiAddress: string }[];
}

export function clusterHandlers(engine: Engine, identity: NodeIdentity): Record<string, Handler> {
  return {
    MemberList: async () => ({
      cluster: identity.clusterName,
      members: identity.members().map((member) => ({
        id: String(member.id),
        name: member.name,
        peerURLs: [member.raftAddress],
        clientURLs: member.apiAddress ? [member.apiAddress] : [],
      })),
    }),

    Status: async (request: armada.v1.StatusRequest) => {
      const tables: Record<string, armada.v1.ITableStatus> = {};
      const errors: string[] = [];
      let registered: ReturnType<Engine["listTables"]> = [];
      try {
        registered = engine.listTables();
      } catch (error) {
        errors.push(error instanceof Error ? error.message : String(error));
      }
      for (const info of registered) {
        try {
          const table = engine.table(info.name);
          const status = table.status();
          tables[info.name] = {
            dbSize: table.dataSizeBytes(),
            leader: String(status.leaderId),
            raftIndex: status.appliedIndex,
            raftTerm: status.term,
            raftAppliedIndex: status.appliedIndex,
          };
        } catch (error) {
          errors.push(`${info.name}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      const response: armada.v1.IStatusResponse = { id: String(identity.nodeId), version: identity.version, tables, errors };
      if (request.config) response.config = toProtobufStruct(identity.renderedConfig());
      return response;
    },
  };
}
