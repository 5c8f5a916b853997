resource "aws_ecs_cluster" "main" {
  name = var.name
}

resource "aws_cloudwatch_log_group" "services" {
  name              = "/ecs/${var.name}"
  retention_in_days = 30
}

data "aws_iam_policy_document" "ecs_tasks" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-task-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks.json

  # Its inline policy is aws_iam_role_policy.execution's; the role reads it back too.
  lifecycle {
    ignore_changes = [inline_policy]
  }
}

# What ECS needs to start the tasks: pull images, write logs (the managed
# AmazonECSTaskExecutionRolePolicy grants the same, for every log group).
data "aws_iam_policy_document" "execution" {
  statement {
    actions   = ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = ["*"]
  }
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.services.arn}:*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "task-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

locals {
  services = {
    open-webui = {
      port = 8080
      environment = {
        OPENAI_API_BASE_URL = "http://${aws_lb.main.dns_name}/api/v1"
      }
    }
    bedrock-access-gateway = {
      port        = 80
      environment = {}
    }
    mcpo = {
      port        = 8000
      environment = {}
    }
  }
  # Services on the ECS controller (rolling updates); open-webui is on task sets, below.
  rolling = {
    bedrock-access-gateway = aws_lb_target_group.gateway.arn
    mcpo                   = null
  }
  network = {
    subnets          = aws_subnet.public[*].id
    security_groups  = [aws_security_group.services.id]
    assign_public_ip = true
  }
}

resource "aws_ecs_task_definition" "service" {
  for_each                 = local.services
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "512"
  memory                   = "1024"
  execution_role_arn       = aws_iam_role.execution.arn
  container_definitions = jsonencode([
    {
      name         = each.key
      image        = var.images[each.key]
      essential    = true
      memory       = 1024
      portMappings = [{ containerPort = each.value.port, protocol = "tcp" }]
      environment  = [for k, v in each.value.environment : { name = k, value = v }]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.services.name
          awslogs-region        = var.region
          awslogs-stream-prefix = each.key
        }
      }
    }
  ])
}

resource "aws_ecs_service" "rolling" {
  for_each        = local.rolling
  name            = each.key
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.service[each.key].arn
  desired_count   = var.desired_count
  launch_type     = "FARGATE"

  network_configuration {
    subnets          = local.network.subnets
    security_groups  = local.network.security_groups
    assign_public_ip = local.network.assign_public_ip
  }

  dynamic "load_balancer" {
    for_each = each.value == null ? [] : [each.value]
    content {
      target_group_arn = load_balancer.value
      container_name   = each.key
      container_port   = local.services[each.key].port
    }
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = false
  }

  # Deployments (ecs-deploy) change the task definition from here on.
  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [aws_lb_listener_rule.gateway]
}

# Open WebUI: the EXTERNAL deployment controller. Its versions run as task sets, which
# ecs-deploy creates, weighs on the listener and deletes; the service itself holds no
# task definition, launch type, network or load balancer (each task set has its own).
resource "aws_ecs_service" "open_webui" {
  name          = "open-webui"
  cluster       = aws_ecs_cluster.main.id
  desired_count = var.desired_count

  deployment_controller {
    type = "EXTERNAL"
  }

  # ECS describes an EXTERNAL service with its primary task set's task definition, load
  # balancer and network: they belong to the deployments, not to this configuration.
  lifecycle {
    ignore_changes = [task_definition, desired_count, load_balancer, network_configuration, launch_type, platform_version]
  }

  depends_on = [aws_lb_listener.http]
}

# The first task set, made primary, in the blue target group. Terraform has no resource
# for a service's primary task set, and an aws_ecs_task_set would be deleted by the first
# deployment (and then show up as drift), so the AWS CLI creates it once, when the service
# is created, and only if the service has no task set yet.
resource "terraform_data" "open_webui_initial_task_set" {
  triggers_replace = [aws_ecs_service.open_webui.id]

  provisioner "local-exec" {
    command = "sh ${path.module}/scripts/initial-task-set.sh"
    environment = {
      AWS_REGION         = var.region
      AWS_DEFAULT_REGION = var.region
      CLUSTER            = aws_ecs_cluster.main.name
      SERVICE            = aws_ecs_service.open_webui.name
      TASK_DEFINITION    = aws_ecs_task_definition.service["open-webui"].arn
      NETWORK = jsonencode({
        awsvpcConfiguration = {
          subnets        = local.network.subnets
          securityGroups = local.network.security_groups
          assignPublicIp = "ENABLED"
        }
      })
      LOAD_BALANCERS = jsonencode([{
        targetGroupArn = aws_lb_target_group.open_webui["blue"].arn
        containerName  = "open-webui"
        containerPort  = local.services["open-webui"].port
      }])
    }
  }
}
