"""Disaster recovery for the table a service makes: AWS Backup on top of point-in-time recovery.

Point-in-time recovery restores any second of the last days; a daily backup in a vault the
stack keeps restores further back, and survives the table's deletion. The runbooks are in
the README ("Disaster recovery").
"""

from __future__ import annotations

from aws_cdk import Duration, Names, RemovalPolicy
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct

from serverless_meta.compliance import acknowledge

# AWS Backup keeps a recovery point in cold storage for at least 90 days.
COLD_STORAGE_MINIMUM = Duration.days(90)


class TableBackup(Construct):
    """A daily backup of ``table`` (03:00 UTC) into an encrypted vault that outlives the stack."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITableV2,
        key: kms.IKey,
        retention: Duration,
        cold_storage_after: Duration | None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Names unique to this construct: CDK would name every plan "Plan".
        self.vault = backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=Names.unique_resource_name(self, separator="-", max_length=50),
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.plan = backup.BackupPlan(
            self,
            "Plan",
            backup_plan_name=Names.unique_resource_name(self, separator="-", max_length=50),
            backup_vault=self.vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="Daily",
                    schedule_expression=events.Schedule.cron(minute="0", hour="3"),
                    delete_after=retention,
                    move_to_cold_storage_after=cold_storage_after,
                )
            ],
        )
        selection = self.plan.add_selection("Table", resources=[backup.BackupResource.from_arn(table.table_arn)])
        acknowledge(
            selection,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
            "AWS Backup's own service-role policy, the one its documentation prescribes for backup selections; "
            "AWS keeps it current as the services it backs up change.",
        )


def check_backup_retention(retention: Duration, cold_storage_after: Duration | None) -> None:
    if retention.to_days() < 1:
        raise ValueError(f"backup_retention must be at least 1 day, got {retention.to_human_string()}")
    if cold_storage_after is not None:
        minimum = cold_storage_after.to_days() + COLD_STORAGE_MINIMUM.to_days()
        if retention.to_days() < minimum:
            raise ValueError(
                f"backup_retention must be at least 90 days after backup_cold_storage_after "
                f"({minimum} days), got {retention.to_days()} days"
            )
