-- Demo stock: products 1..10 with 100 available each (tests use their own product ids).
INSERT IGNORE INTO inventory (product_id, available) VALUES
    (1, 100), (2, 100), (3, 100), (4, 100), (5, 100),
    (6, 100), (7, 100), (8, 100), (9, 100), (10, 100);
