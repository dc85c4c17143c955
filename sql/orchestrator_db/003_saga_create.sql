-- saga_create: a new saga and its "CreateOrder STARTED" log row in one transaction behind one
-- CALL. A second saga with the same id fails with ER_DUP_ENTRY (1062), nothing written.

DROP PROCEDURE IF EXISTS saga_create;

DELIMITER //
CREATE PROCEDURE saga_create(
    IN p_saga_id VARCHAR(128), IN p_status VARCHAR(16), IN p_step VARCHAR(32),
    IN p_last_forward INT, IN p_comp_index INT,
    IN p_customer_id BIGINT, IN p_product_id BIGINT, IN p_quantity BIGINT, IN p_amount BIGINT,
    IN p_payment_method VARCHAR(32))
BEGIN
    DECLARE EXIT HANDLER FOR SQLEXCEPTION
    BEGIN
        ROLLBACK;
        RESIGNAL;
    END;
    START TRANSACTION;
    INSERT INTO saga_instance (saga_id, status, step, last_forward, comp_index, customer_id,
                               product_id, quantity, amount, payment_method)
    VALUES (p_saga_id, p_status, p_step, p_last_forward, p_comp_index, p_customer_id,
            p_product_id, p_quantity, p_amount, p_payment_method);
    INSERT INTO saga_step_log (saga_id, step, event, attempt)
    VALUES (p_saga_id, p_step, 'STARTED', 0);
    COMMIT;
END//
DELIMITER ;
