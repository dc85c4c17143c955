-- orchestrator_db: the pure orchestrator's saga state machine (docs/saga.md).
-- saga_instance holds the current state; every transition is committed before the call it
-- leads to, so a restarted orchestrator resumes from here. saga_step_log is the audit trail.
-- No explicit charset: tables take the database default (utf8mb4, see scripts/stack), as the
-- parameters of saga_transition (002) do, so their string comparisons share one collation.

CREATE TABLE saga_instance (
    saga_id        VARCHAR(128) NOT NULL,
    status         VARCHAR(16)  NOT NULL,
    step           VARCHAR(32)  NOT NULL,
    last_forward   INT          NOT NULL DEFAULT -1,
    comp_index     INT          NOT NULL DEFAULT 0,
    customer_id    BIGINT       NOT NULL,
    product_id     BIGINT       NOT NULL,
    quantity       BIGINT       NOT NULL,
    amount         BIGINT       NOT NULL,
    payment_method VARCHAR(32)  NOT NULL,
    order_id       BIGINT       NULL,
    payment_id     BIGINT       NULL,
    error_type     VARCHAR(48)  NULL,
    error_message  VARCHAR(512) NULL,
    version        INT          NOT NULL DEFAULT 0,
    created_at     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                         ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (saga_id),
    KEY ix_saga_instance_status (status),
    CONSTRAINT ck_saga_instance_status
        CHECK (status IN ('RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED'))
) ENGINE = InnoDB;

CREATE TABLE saga_step_log (
    id          BIGINT       NOT NULL AUTO_INCREMENT,
    saga_id     VARCHAR(128) NOT NULL,
    step        VARCHAR(32)  NOT NULL,
    event       VARCHAR(16)  NOT NULL,
    attempt     INT          NOT NULL DEFAULT 0,
    http_status INT          NULL,
    error_type  VARCHAR(48)  NULL,
    message     VARCHAR(512) NULL,
    created_at  TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    KEY ix_saga_step_log_saga (saga_id, id)
) ENGINE = InnoDB;
