from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("logoff", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="OfferedChoice",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("platform", fields.CharField(max_length=16)),
                ("message_id", fields.CharField(max_length=255)),
                ("owner", fields.CharField(default="", max_length=255)),
                (
                    "actions",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("thread", fields.CharField(null=True, max_length=255)),
                (
                    "created_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "offered_choices",
                "app": "logoff",
                "unique_together": (("platform", "message_id"),),
                "pk_attr": "id",
                "table_description": "A bot message offering numbered choices (reactions 1️⃣ 2️⃣ ...): who may answer, and what.",
            },
            bases=["Model"],
        ),
    ]
