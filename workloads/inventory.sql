-- inventory: customers order products from stock.
--
-- Constraints do real work here: stock may not go negative (CHECK), an
-- order line may not repeat a product (PRIMARY KEY), emails are UNIQUE,
-- and orders reference customers and products (foreign keys, enforced
-- with PRAGMA foreign_keys=ON on every connection and on the reference).
-- A statement that violates one fails and the transaction aborts; the
-- oracle checks that the reference fails the same way in the same state.
--
-- Bookkeeping that must add up at the end: each product's stock plus what
-- live (not cancelled) orders took equals what it ever received; each
-- order's total is the sum of its lines; each customer's order count is
-- right.

\description orders against stock: UNIQUE, CHECK and foreign keys; a violation aborts the order
\requires sqlite 3.8.3 WITH RECURSIVE, in the setup; WITHOUT ROWID needs 3.8.2
\pragma foreign_keys=ON
\param products 20
\param customers 30
\param initial_stock 40

\setup
CREATE TABLE inv_products(
  id INTEGER PRIMARY KEY,
  sku TEXT NOT NULL UNIQUE,
  price INTEGER NOT NULL CHECK (price > 0),
  stock INTEGER NOT NULL CHECK (stock >= 0),
  received INTEGER NOT NULL);
CREATE TABLE inv_customers(
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  orders INTEGER NOT NULL DEFAULT 0 CHECK (orders >= 0));
CREATE TABLE inv_orders(
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES inv_customers(id),
  total INTEGER NOT NULL CHECK (total >= 0),
  status TEXT NOT NULL CHECK (status IN ('open', 'shipped', 'cancelled')));
CREATE INDEX inv_orders_customer ON inv_orders(customer_id);
CREATE INDEX inv_orders_status ON inv_orders(status, id);
CREATE TABLE inv_order_lines(
  order_id INTEGER NOT NULL REFERENCES inv_orders(id) ON DELETE CASCADE,
  product_id INTEGER NOT NULL REFERENCES inv_products(id),
  qty INTEGER NOT NULL CHECK (qty > 0),
  price INTEGER NOT NULL,
  PRIMARY KEY (order_id, product_id)) WITHOUT ROWID;
CREATE INDEX inv_order_lines_product ON inv_order_lines(product_id);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :products)
INSERT INTO inv_products SELECT i, 'sku-' || i, 5 + i % 7, :initial_stock, :initial_stock FROM n;
-- half the customers exist; signup adds (or collides with) the rest
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :customers / 2)
INSERT INTO inv_customers(id, email) SELECT i, 'user' || i || '@example.com' FROM n;

\transaction place_order @6 deferred:2 immediate:1
-- the customer may not exist (foreign key), the two products may be the
-- same (primary key), the stock may be short (CHECK): each aborts
\set customer random(1, :customers)
\set order_id unique()
\set p1 random_zipfian(1, :products, 1.1)
\set q1 random(1, 6)
\set p2 random(1, :products)
\set q2 random(1, 3)
SELECT price AS price1 FROM inv_products WHERE id = :p1 \gset
SELECT price AS price2 FROM inv_products WHERE id = :p2 \gset
\set total :q1 * :price1 + :q2 * :price2
INSERT INTO inv_orders(id, customer_id, total, status) VALUES (:order_id, :customer, :total, 'open');
\name order
\expect constraint_foreignkey
INSERT INTO inv_order_lines(order_id, product_id, qty, price) VALUES (:order_id, :p1, :q1, :price1);
\name line1
UPDATE inv_products SET stock = stock - :q1 WHERE id = :p1;
\name take1
\expect constraint_check
INSERT INTO inv_order_lines(order_id, product_id, qty, price) VALUES (:order_id, :p2, :q2, :price2);
\name line2
\expect constraint_primarykey
UPDATE inv_products SET stock = stock - :q2 WHERE id = :p2;
\name take2
\expect constraint_check
UPDATE inv_customers SET orders = orders + 1 WHERE id = :customer;
\name count

\transaction cancel_order @2 immediate
\set skip random(0, 4)
SELECT id AS oid FROM inv_orders WHERE status = 'open' ORDER BY id LIMIT 1 OFFSET :skip \gset
\if :oid IS NULL
\rollback
\endif
UPDATE inv_products
   SET stock = stock + (SELECT qty FROM inv_order_lines WHERE order_id = :oid AND product_id = inv_products.id)
 WHERE id IN (SELECT product_id FROM inv_order_lines WHERE order_id = :oid);
UPDATE inv_orders SET status = 'cancelled' WHERE id = :oid;

\transaction ship_order @2 autocommit
UPDATE inv_orders SET status = 'shipped'
 WHERE id = (SELECT min(id) FROM inv_orders WHERE status = 'open');

\transaction restock @1 immediate
\set p random(1, :products)
\set n random(5, 30)
UPDATE inv_products SET stock = stock + :n, received = received + :n WHERE id = :p;

\transaction signup @1 autocommit
-- id and email drawn apart: either may collide (PRIMARY KEY, UNIQUE)
\set c random(1, :customers)
\set e random(1, :customers)
INSERT INTO inv_customers(id, email) VALUES (:c, 'user' || :e || '@example.com');
\expect constraint_primarykey constraint_unique

\transaction leave @1 autocommit
-- fails on the foreign key while the customer has orders
\set c random(1, :customers)
DELETE FROM inv_customers WHERE id = :c;
\expect constraint_foreignkey

\transaction purge_cancelled @1 immediate
DELETE FROM inv_order_lines WHERE order_id IN (SELECT id FROM inv_orders WHERE status = 'cancelled');
UPDATE inv_customers SET orders = orders - (SELECT count(*) FROM inv_orders o
   WHERE o.customer_id = inv_customers.id AND o.status = 'cancelled');
DELETE FROM inv_orders WHERE status = 'cancelled';

\transaction report @2
SELECT status, count(*), sum(total) FROM inv_orders GROUP BY status ORDER BY status;
SELECT id, stock FROM inv_products ORDER BY id;

\invariants
SELECT count(*) = 0 FROM inv_products p
 WHERE p.stock + (SELECT coalesce(sum(l.qty), 0) FROM inv_order_lines l
                    JOIN inv_orders o ON o.id = l.order_id
                   WHERE l.product_id = p.id AND o.status <> 'cancelled') <> p.received;
SELECT count(*) = 0 FROM inv_orders o
 WHERE o.total <> (SELECT coalesce(sum(l.qty * l.price), 0) FROM inv_order_lines l WHERE l.order_id = o.id);
SELECT count(*) = 0 FROM inv_customers c
 WHERE c.orders <> (SELECT count(*) FROM inv_orders o WHERE o.customer_id = c.id);
