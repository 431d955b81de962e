"""The Python peer of `npm run bench:payment` (docs/performance.md, Payment pipeline
benchmark).

A plain confluent-kafka consumer in the style of the seed's payment service: one
poll loop over order.placed.v1, the payment rules applied in process, one result
event produced per order (PaymentProcessed or PaymentFailed, keyed by the order id),
offsets auto-committed, nothing stored. It is the baseline the payment function is
compared with, so it does only what such a consumer does: no exactly-once claim, no
store, no outbox.

It stops once it has handled --records records, flushes its producer, and prints one
JSON line: records, seconds (from the first record polled to the last result
acknowledged) and records per second.
"""

import argparse
import json
import sys
import time
import uuid
from datetime import datetime, timezone

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

# The rules of docs/domain.md section 6, with DEFAULT_PAYMENT_RULES' values:
# thresholds in major units of the order's currency.
FRAUD_THRESHOLD = 10_000
AMOUNT_LIMIT = 1_000
SUSPICIOUS_PREFIX = "suspicious"
# The simulated gateway declines these orders (DEFAULT_GATEWAY_SETTINGS).
DECLINE_PREFIX = "decline"
# Minor units per major unit; 2 for any currency not listed.
EXPONENTS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3}

PROCESSED_TOPIC = "payment.processed.v1"
FAILED_TOPIC = "payment.failed.v1"


def minor_units(major, currency):
    return major * 10 ** EXPONENTS.get(currency, 2)


def decide(order_id, amount, currency):
    """(None, None) to charge, else the failure reason and its detail."""
    if order_id.startswith(SUSPICIOUS_PREFIX):
        return "FRAUD_SUSPECTED", f"order id starts with '{SUSPICIOUS_PREFIX}'"
    if amount > minor_units(FRAUD_THRESHOLD, currency):
        return "FRAUD_SUSPECTED", "total above the fraud threshold"
    if amount > minor_units(AMOUNT_LIMIT, currency):
        return "AMOUNT_LIMIT_EXCEEDED", "total above the limit"
    if order_id.startswith(DECLINE_PREFIX):
        return "GATEWAY_DECLINED", f"card declined for order {order_id}"
    return None, None


def result_of(placed):
    """The topic and event answering one OrderPlaced."""
    data = placed["data"]
    order_id = data["orderId"]
    total = data["total"]
    payment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"payment/{order_id}"))
    reason, detail = decide(order_id, total["amount"], total["currency"])
    if reason is None:
        topic, event_type = PROCESSED_TOPIC, "PaymentProcessed"
        body = {
            "orderId": order_id,
            "paymentId": payment_id,
            "transactionId": f"txn-{uuid.uuid4()}",
            "amount": total,
        }
    else:
        topic, event_type = FAILED_TOPIC, "PaymentFailed"
        body = {
            "orderId": order_id,
            "paymentId": payment_id,
            "reason": reason,
            "detail": detail,
        }
    event = {
        "eventId": str(uuid.uuid4()),
        "eventType": event_type,
        "version": 1,
        "occurredAt": datetime.now(timezone.utc).isoformat(),
        "correlationId": placed["correlationId"],
        "causationId": placed["eventId"],
        "data": body,
    }
    return topic, order_id, event_type, json.dumps(event)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--topic", default="order.placed.v1")
    parser.add_argument("--group", required=True)
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--deadline-seconds", type=float, default=600.0)
    args = parser.parse_args()

    consumer = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": args.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
        }
    )
    producer = Producer({"bootstrap.servers": args.brokers, "acks": "all"})
    failures = []

    def delivered(error, _message):
        if error is not None:
            failures.append(str(error))

    consumer.subscribe([args.topic])
    handled = 0
    first = None
    give_up = time.monotonic() + args.deadline_seconds
    try:
        while handled < args.records:
            if time.monotonic() > give_up:
                raise TimeoutError(
                    f"{handled}/{args.records} records after {args.deadline_seconds} s"
                )
            message = consumer.poll(timeout=1.0)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(message.error())
            if first is None:
                first = time.monotonic()
            placed = json.loads(message.value())
            topic, key, event_type, value = result_of(placed)
            headers = {
                "event-type": event_type,
                "correlation-id": placed["correlationId"],
                "content-type": "application/json",
            }
            while True:
                try:
                    producer.produce(
                        topic, key=key, value=value, headers=headers,
                        on_delivery=delivered,
                    )
                    break
                except BufferError:
                    # The local queue is full: let deliveries drain, then retry.
                    producer.poll(0.1)
            producer.poll(0)
            handled += 1
        left = producer.flush(30)
        if left:
            raise TimeoutError(f"{left} results not acknowledged after 30 s")
        if failures:
            raise RuntimeError(f"{len(failures)} results failed: {failures[0]}")
        seconds = time.monotonic() - (first or time.monotonic())
    finally:
        consumer.close()
    print(
        json.dumps(
            {
                "records": handled,
                "seconds": seconds,
                "recordsPerSecond": handled / seconds if seconds > 0 else None,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # One line for the bench, whatever went wrong.
        print(f"payment_consumer: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
