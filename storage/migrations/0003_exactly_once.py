from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("logoff", "0002_offered_choices")]

    operations = [
        ops.AddField(
            model_name="Job",
            name="handed_over_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.CreateModel(
            name="IncomingEvent",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("platform", fields.CharField(max_length=16)),
                ("event_id", fields.CharField(max_length=255)),
                ("owner", fields.CharField(max_length=64)),
                ("status", fields.CharField(default="claimed", max_length=10)),
                ("lease_until", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "reply",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "claimed_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "incoming_events",
                "app": "logoff",
                "unique_together": (("platform", "event_id"),),
                "pk_attr": "id",
                "table_description": "A platform event (command, tap, reaction) claimed by one process, so it is answered once.",
            },
            bases=["Model"],
        ),
    ]
