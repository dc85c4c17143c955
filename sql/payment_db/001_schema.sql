-- payment_db: payments and their outbox. saga_id is UNIQUE: one payment per saga, so a
-- repeated createPayment can never charge twice.

CREATE TABLE payments (
    id             BIGINT       NOT NULL AUTO_INCREMENT,
    order_id       BIGINT       NOT NULL,
    saga_id        VARCHAR(128) NOT NULL,
    amount         BIGINT       NOT NULL,
    method         VARCHAR(32)  NOT NULL,
    status         VARCHAR(16)  NOT NULL,
    failure_reason VARCHAR(255) NULL DEFAULT NULL,
    version        INT          NOT NULL DEFAULT 0,
    created_at     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                         ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uk_payments_saga_id (saga_id),
    KEY ix_payments_order (order_id),
    CONSTRAINT ck_payments_amount CHECK (amount > 0),
    CONSTRAINT ck_payments_status
        CHECK (status IN ('CREATED', 'APPROVED', 'CONFIRMED', 'REFUNDED', 'FAILED'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE outbox_events (
    id             BIGINT       NOT NULL AUTO_INCREMENT,
    aggregate_type VARCHAR(32)  NOT NULL,
    aggregate_id   VARCHAR(64)  NOT NULL,
    event_type     VARCHAR(64)  NOT NULL,
    payload        JSON         NOT NULL,
    created_at     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    published_at   TIMESTAMP(3) NULL DEFAULT NULL,
    PRIMARY KEY (id),
    KEY ix_outbox_unpublished (published_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
