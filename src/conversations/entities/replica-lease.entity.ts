import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A server process's heartbeat on a shared PostgreSQL (see TurnLeases): the turns it runs may be
 * taken over by another process only once `expiresAt` (the database's clock) has passed.
 */
@Entity('replica_leases')
export class ReplicaLease {
  /** The process's owner id, the `run_owner` of the conversations whose turns it runs. */
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'PK_replica_leases' })
  owner!: string;

  @Column({ type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  renewedAt!: Date;
}
