resource "aws_lb" "main" {
  name               = var.name
  load_balancer_type = "application"
  security_groups    = [aws_security_group.alb.id]
  subnets            = aws_subnet.public[*].id
}

# Open WebUI is delivered blue/green: ecs-deploy starts each new version as a task set in
# whichever of these two target groups the live one is not in, and moves the listener's
# weights between them (canary, linear or blue-green).
resource "aws_lb_target_group" "open_webui" {
  for_each    = toset(["blue", "green"])
  name        = "${var.name}-webui-${each.key}"
  port        = 8080
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = aws_vpc.main.id
  health_check {
    path    = "/health"
    matcher = "200"
  }
}

# The OpenAI-compatible gateway, under /api/v1/*: rolling updates, one target group.
resource "aws_lb_target_group" "gateway" {
  name        = "${var.name}-gateway"
  port        = 80
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = aws_vpc.main.id
  health_check {
    path    = "/health"
    matcher = "200"
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.main.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type = "forward"
    forward {
      target_group {
        arn    = aws_lb_target_group.open_webui["blue"].arn
        weight = 100
      }
      target_group {
        arn    = aws_lb_target_group.open_webui["green"].arn
        weight = 0
      }
    }
  }

  # The weights belong to deployments from here on: the live version may be in green.
  lifecycle {
    ignore_changes = [default_action]
  }
}

resource "aws_lb_listener_rule" "gateway" {
  listener_arn = aws_lb_listener.http.arn
  priority     = 10
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.gateway.arn
  }
  condition {
    path_pattern {
      values = ["/api/v1/*"]
    }
  }
}
