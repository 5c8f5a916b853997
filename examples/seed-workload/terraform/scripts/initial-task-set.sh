#!/bin/sh
# Creates the first task set of an EXTERNAL-controller service and makes it primary, so
# that ecs-deploy has a stable version to roll out beside. Does nothing when the service
# already has a task set (a deployment owns them from then on). Needs the AWS CLI.
set -eu
: "${CLUSTER:?}" "${SERVICE:?}" "${TASK_DEFINITION:?}" "${NETWORK:?}" "${LOAD_BALANCERS:?}"

existing=$(aws ecs describe-task-sets --cluster "$CLUSTER" --service "$SERVICE" --query 'length(taskSets)' --output text)
if [ "$existing" != "0" ]; then
  echo "$SERVICE already has $existing task set(s): leaving them to its deployments."
  exit 0
fi
task_set=$(aws ecs create-task-set --cluster "$CLUSTER" --service "$SERVICE" \
  --task-definition "$TASK_DEFINITION" --external-id terraform --launch-type FARGATE \
  --network-configuration "$NETWORK" --load-balancers "$LOAD_BALANCERS" \
  --scale value=100,unit=PERCENT --query 'taskSet.taskSetArn' --output text)
aws ecs update-service-primary-task-set --cluster "$CLUSTER" --service "$SERVICE" --primary-task-set "$task_set" >/dev/null
echo "Created task set $task_set of $SERVICE (primary, in the blue target group)."
