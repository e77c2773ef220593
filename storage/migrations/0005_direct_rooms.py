"""Issue 10: one DM room per (platform, bot account, member), claimed before it is created."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("logoff", "0004_events")]

    initial = False

    operations = [
        ops.CreateModel(
            name="DirectRoom",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("platform", fields.CharField(max_length=16)),
                ("account", fields.CharField(max_length=255)),
                ("member", fields.CharField(max_length=255)),
                ("room_id", fields.CharField(null=True, max_length=255)),
                ("owner", fields.CharField(max_length=64)),
                ("claimed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("lease_until", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "direct_rooms",
                "app": "logoff",
                "unique_together": (("platform", "account", "member"),),
                "pk_attr": "id",
                "table_description": "The DM room of one bot account with one member, claimed by one process before it is made.",
            },
            bases=["Model"],
        ),
    ]
