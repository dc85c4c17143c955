-- 005: replicas own sagas by lease, a saga commits only what recovery needs, and a retrying
-- step is visible (docs/saga.md, "orchestrator-pure").
--
-- Lease: owner_id is the replica driving the saga, lease_until (database clock) the moment
-- another replica may take it over, lease_version the fencing token: a takeover bumps it, and
-- every write of the saga's state checks it, so a replica that lost its lease cannot commit.
-- An ended saga has no lease (NULL), so ix_saga_instance_lease holds only unfinished sagas
-- and "WHERE lease_until < NOW(3)" finds the expired ones without a scan. A row inserted
-- without a lease (saga_create, older code) gets the time of its insert: expired at once, a
-- live replica takes it over.
--
-- Retry: while a step is retried (a forward step, a confirm or a compensation) the row holds
-- that step, its attempt count, its last error and since when it has been retrying; NULL
-- otherwise. Written only when a retry happens, so a saga that never retries never writes it.
--
-- saga_step_log gains the duration of the attempt it records (created_at is when the attempt
-- started) and the owner and lease version that wrote it (which replica drove the saga when).

ALTER TABLE saga_instance
    ADD COLUMN owner_id      VARCHAR(128) NULL,
    ADD COLUMN lease_until   TIMESTAMP(3) NULL DEFAULT CURRENT_TIMESTAMP(3),
    ADD COLUMN lease_version INT          NOT NULL DEFAULT 0,
    ADD COLUMN retry_step    VARCHAR(32)  NULL,
    ADD COLUMN retry_attempt INT          NULL,
    ADD COLUMN retry_error   VARCHAR(512) NULL,
    ADD COLUMN retry_since   TIMESTAMP(3) NULL;

UPDATE saga_instance
   SET lease_until = CASE WHEN status IN ('RUNNING', 'COMPENSATING')
                          THEN CURRENT_TIMESTAMP(3) ELSE NULL END,
       updated_at = updated_at;

CREATE INDEX ix_saga_instance_lease ON saga_instance (lease_until);
CREATE INDEX ix_saga_instance_retry ON saga_instance (retry_since);

ALTER TABLE saga_step_log
    ADD COLUMN duration_ms   INT          NULL,
    ADD COLUMN owner_id      VARCHAR(128) NULL,
    ADD COLUMN lease_version INT          NULL;

DROP PROCEDURE IF EXISTS saga_commit;
DROP PROCEDURE IF EXISTS saga_cancel;

-- saga_commit: one transition of the lease holder p_owner_id as one transaction behind one
-- CALL: the saga's state (optimistic `version` and the lease version both checked), its lease
-- extended (p_lease_ms; NULL once it ends: no lease any more), its retry record (p_retry_step
-- NULL clears it; p_retry_age_ms says how long the step has been retrying), and the trail
-- since the last commit as a JSON array of {"s":step,"e":event,"a":attempt,"h":http_status,
-- "t":error_type,"m":message,"d":duration_ms,"g":started this many ms before the commit}.
-- A stale version or a lost lease raises SQLSTATE 45000 (errno 1644) after rolling back.
DELIMITER //
CREATE PROCEDURE saga_commit(
    IN p_saga_id VARCHAR(128), IN p_version INT, IN p_lease_version INT,
    IN p_owner_id VARCHAR(128),
    IN p_status VARCHAR(16), IN p_phase VARCHAR(16), IN p_step VARCHAR(32),
    IN p_last_forward INT, IN p_comp_index INT, IN p_confirms_done INT, IN p_refused INT,
    IN p_cancel_requested TINYINT, IN p_order_id BIGINT, IN p_payment_id BIGINT,
    IN p_error_type VARCHAR(48), IN p_error_message VARCHAR(512), IN p_lease_ms INT,
    IN p_retry_step VARCHAR(32), IN p_retry_attempt INT, IN p_retry_error VARCHAR(512),
    IN p_retry_age_ms BIGINT, IN p_logs LONGTEXT)
BEGIN
    DECLARE EXIT HANDLER FOR SQLEXCEPTION
    BEGIN
        ROLLBACK;
        RESIGNAL;
    END;
    START TRANSACTION;
    UPDATE saga_instance
       SET status = p_status, phase = p_phase, step = p_step, last_forward = p_last_forward,
           comp_index = p_comp_index, confirms_done = p_confirms_done, refused = p_refused,
           cancel_requested = p_cancel_requested, order_id = p_order_id,
           payment_id = p_payment_id, error_type = p_error_type,
           error_message = p_error_message, version = version + 1,
           lease_until = IF(p_lease_ms IS NULL, NULL,
                            CURRENT_TIMESTAMP(3) + INTERVAL p_lease_ms * 1000 MICROSECOND),
           retry_step = p_retry_step, retry_attempt = p_retry_attempt,
           retry_error = p_retry_error,
           retry_since = IF(p_retry_step IS NULL, NULL,
                            CURRENT_TIMESTAMP(3) - INTERVAL p_retry_age_ms * 1000 MICROSECOND)
     WHERE saga_id = p_saga_id AND version = p_version AND lease_version = p_lease_version;
    IF ROW_COUNT() <> 1 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'saga_commit: stale version or lease';
    END IF;
    IF p_logs IS NOT NULL THEN
        INSERT INTO saga_step_log (saga_id, step, event, attempt, http_status, error_type,
                                   message, duration_ms, owner_id, lease_version, created_at)
        SELECT p_saga_id, j.s, j.e, COALESCE(j.a, 0), j.h, j.t, j.m, j.d, p_owner_id,
               p_lease_version,
               CURRENT_TIMESTAMP(3) - INTERVAL COALESCE(j.g, 0) * 1000 MICROSECOND
          FROM JSON_TABLE(p_logs, '$[*]' COLUMNS (
                   s VARCHAR(32)  PATH '$.s',
                   e VARCHAR(16)  PATH '$.e',
                   a INT          PATH '$.a',
                   h INT          PATH '$.h',
                   t VARCHAR(48)  PATH '$.t',
                   m VARCHAR(512) PATH '$.m',
                   d INT          PATH '$.d',
                   g BIGINT       PATH '$.g')) AS j;
    END IF;
    COMMIT;
END//

-- saga_cancel: a cancel accepted by any replica: only cancel_requested changes (the lease
-- holder applies it), with a CANCEL row, over the version and lease version the caller read.
CREATE PROCEDURE saga_cancel(
    IN p_saga_id VARCHAR(128), IN p_version INT, IN p_lease_version INT, IN p_step VARCHAR(32))
BEGIN
    DECLARE EXIT HANDLER FOR SQLEXCEPTION
    BEGIN
        ROLLBACK;
        RESIGNAL;
    END;
    START TRANSACTION;
    UPDATE saga_instance
       SET cancel_requested = 1, version = version + 1
     WHERE saga_id = p_saga_id AND version = p_version AND lease_version = p_lease_version
       AND cancel_requested = 0;
    IF ROW_COUNT() <> 1 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'saga_cancel: stale version or lease';
    END IF;
    INSERT INTO saga_step_log (saga_id, step, event, attempt, lease_version)
    VALUES (p_saga_id, p_step, 'CANCEL', 0, p_lease_version);
    COMMIT;
END//
DELIMITER ;
